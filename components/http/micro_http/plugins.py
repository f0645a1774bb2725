"""A kernel plugin manager that also knows the HTTP hooks, before any plugin is loaded.

The kernel's :class:`~micro_core.Plugins` refuses a plugin that implements a hook it
has no spec for, and checks the autoloaded ``micro.plugins`` entry points as it builds
itself: a plugin implementing ``micro_authenticate`` passes only when the HTTP specs
are given to it up front (``extra_hookspecs``), which :func:`http_plugins` does.
"""

from __future__ import annotations

from collections.abc import Mapping

from micro_core import Plugins
from micro_http import hookspecs


def add_hookspecs(plugins: Plugins) -> None:
    """Teach ``plugins`` the HTTP hooks (once; a second call changes nothing)."""
    caller = getattr(plugins.manager.hook, "micro_authenticate", None)
    if caller is None or not caller.has_spec():
        plugins.manager.add_hookspecs(hookspecs)


def http_plugins(*, autoload: bool | None = None, environ: Mapping[str, str] | None = None) -> Plugins:
    """A :class:`~micro_core.Plugins` with the HTTP hooks, then the ``micro.plugins`` entry points.

    :param autoload: load the entry points; default: unless ``MICRO_DISABLE_PLUGIN_AUTOLOAD``.
    """
    return Plugins(autoload=autoload, environ=environ, extra_hookspecs=(hookspecs,))


__all__ = ["add_hookspecs", "http_plugins"]
