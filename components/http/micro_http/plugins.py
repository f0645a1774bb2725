"""A kernel plugin manager that also knows the HTTP hooks, before any plugin is loaded.

The kernel's :class:`~micro_core.Plugins` refuses a plugin that implements a hook it
has no spec for, and checks the autoloaded ``micro.plugins`` entry points as it
builds itself; a plugin implementing ``micro_authenticate`` would then fail before
this library could add the spec. So the HTTP components build their manager here:
without autoload, add the HTTP specs, then load the entry points exactly as the
kernel would (same switches, a broken plugin reported and skipped).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import stevedore

from micro_core import Plugins
from micro_core.plugins import PLUGINS_GROUP
from micro_http import hookspecs

log = logging.getLogger("micro.http")


def add_hookspecs(plugins: Plugins) -> None:
    """Teach ``plugins`` the HTTP hooks (once; a second call changes nothing)."""
    caller = getattr(plugins.manager.hook, "micro_authenticate", None)
    if caller is None or not caller.has_spec():
        plugins.manager.add_hookspecs(hookspecs)


def http_plugins(*, autoload: bool | None = None, environ: Mapping[str, str] | None = None) -> Plugins:
    """A :class:`~micro_core.Plugins` with the HTTP hooks, then the ``micro.plugins`` entry points.

    :param autoload: load the entry points; default: unless ``MICRO_DISABLE_PLUGIN_AUTOLOAD``.
    """
    environ = os.environ if environ is None else environ
    plugins = Plugins(autoload=False, environ=environ)
    add_hookspecs(plugins)
    if autoload is None:
        autoload = environ.get("MICRO_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() not in {
            "1",
            "true",
            "yes",
            "on",
        }
    if autoload:
        extensions: stevedore.ExtensionManager[Any] = stevedore.ExtensionManager(
            PLUGINS_GROUP, invoke_on_load=False, on_load_failure_callback=_report
        )
        for extension in extensions:
            if extension.name not in plugins.blocked:
                plugins.register(extension.plugin, name=extension.name)
    return plugins


def _report(_manager: object, entry_point: object, error: BaseException) -> None:
    log.warning("plugin %s failed to load and is skipped: %s", getattr(entry_point, "name", "?"), error)


__all__ = ["add_hookspecs", "http_plugins"]
