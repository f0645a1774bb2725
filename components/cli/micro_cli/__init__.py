"""The ``micro`` command line, built only on the public API of ``micro_core``.

Start-up stays close to a bare ``import click``: this package imports ``micro_core``
only inside the commands that need it, and the global flags come from a cache of the
declared options (see :mod:`micro_cli.declared`).
"""

from micro_cli.main import build, main

__all__ = ["build", "main"]
