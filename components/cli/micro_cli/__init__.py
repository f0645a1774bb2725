"""The ``micro`` command line, built only on the public API of ``micro_core``.

Start-up stays close to a bare ``import click``: this package imports ``micro_core``
only inside the commands that need it, and the global flags come from a cache of the
declared options (see :mod:`micro_cli.declared`).
"""

from typing import Any

__all__ = ["build", "main"]


def __getattr__(name: str) -> Any:
    """``build`` and ``main`` from :mod:`micro_cli.main`, imported on first use: every micro
    process imports :mod:`micro_cli.proxy` as a plugin and must not pay for click and the commands."""
    if name in __all__:
        from micro_cli import main as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
