"""The declared options and installed components, cached so ``micro --help`` stays fast.

The global flags of ``micro`` are generated from the options the kernel and the
plugins declare (``micro_add_options``), and the component subcommands from the
``micro.components`` entry points. Finding those means importing ``micro_core`` and
every autoloaded plugin, which costs more than the rest of the start-up together, so
the answer is kept in a JSON file and rebuilt only when something it came from
changed: a directory of ``sys.path`` (a distribution installed or removed), a source
file of a plugin that declared options, or the plugin switches in the environment.

The cache lives in ``$MICRO_CLI_CACHE_DIR``, else ``$XDG_CACHE_HOME/micro``, else
``~/.cache/micro``; when it cannot be written the answer is simply recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Bump when the cached layout changes.
_FORMAT = 2
#: Environment variables that change which plugins load, and so which options exist.
_SWITCHES = ("MICRO_DISABLE_PLUGIN_AUTOLOAD", "MICRO_BLOCK_PLUGINS")


@dataclass(frozen=True)
class Declared:
    """A declared option as the command line shows it."""

    name: str
    flag: str
    env: str
    help: str
    default: str
    #: What the value is (INT, SECONDS, ADDRESS, FILE...), shown after the flag.
    metavar: str
    #: The part of micro it configures (registry, broker, server...), for grouping.
    kind: str


#: Options whose first word is not the kind they configure.
_KIND_OF_WORD = {
    "register": "registry",
    "content": "client",
    "max": "transport",
    "shutdown": "server",
    "health": "service",
    "metrics": "service",
}
#: Options that name a driver.
_DRIVER_CHOICES = {"registry", "broker", "transport", "selector"}


def _metavar(name: str, parse: Any, default: Any) -> str:
    """A typed placeholder for the value, from the option's parser and name."""
    if name in _DRIVER_CHOICES:
        return "DRIVER"
    if parse is int:
        return "BYTES" if name.endswith(("_size", "_bytes")) else "INT"
    if parse is float:
        return "SECONDS"
    if isinstance(default, bool):
        return "BOOL"
    if name.endswith(("_address", "_advertise")):
        return "HOST:PORT"
    if name.endswith(("_ca", "_cert", "_key", "_cafile", "_certfile", "_keyfile")):
        return "PEM-FILE"
    if name == "content_type":
        return "MIME-TYPE"
    return "TEXT"


def _kind(name: str) -> str:
    word = name.partition("_")[0]
    return _KIND_OF_WORD.get(word, word)


@dataclass(frozen=True)
class Component:
    """A ``micro.components`` entry point: a click command loaded only when invoked."""

    name: str
    target: str
    distribution: str
    version: str


@dataclass(frozen=True)
class Inventory:
    options: list[Declared]
    components: list[Component]


def cache_dir() -> Path:
    """Where the CLI keeps what it remembers (this cache, the shell's history)."""
    return Path(
        os.environ.get("MICRO_CLI_CACHE_DIR")
        or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "micro")
    )


def _cache_file() -> Path:
    key = "\0".join([sys.prefix, sys.version, *(os.environ.get(name, "") for name in _SWITCHES)])
    return cache_dir() / f"cli-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _watched_dirs() -> list[str]:
    """The import path without the script's own directory, which changes for other reasons."""
    return [p for p in sys.path[1:] if p and os.path.isdir(p)]


def load() -> Inventory:
    """The declared options and components, from the cache when it is still true."""
    path = _cache_file()
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text())
        if data["format"] == _FORMAT and all(_mtime(p) == t for p, t in data["stamp"].items()):
            return Inventory(
                [Declared(**o) for o in data["options"]], [Component(**c) for c in data["components"]]
            )
    inventory, sources = _discover()
    stamp = {p: _mtime(p) for p in [*_watched_dirs(), *sources]}
    data = {
        "format": _FORMAT,
        "stamp": stamp,
        "options": [asdict(o) for o in inventory.options],
        "components": [asdict(c) for c in inventory.components],
    }
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(data))
        partial.replace(path)
    return inventory


def _source_file(plugin: Any) -> str | None:
    try:
        return inspect.getfile(
            plugin if inspect.ismodule(plugin) or inspect.isclass(plugin) else type(plugin)
        )
    except TypeError:
        return None


def _discover() -> tuple[Inventory, list[str]]:
    """Ask the kernel: the slow path, taken when the cache is missing or stale."""
    from importlib.metadata import entry_points

    from micro_core import Options, Plugins
    from micro_core.plugins import COMPONENTS_GROUP

    plugins = Plugins()
    options = Options(environ={})
    plugins.add_options(options)
    declared = [
        Declared(
            o.name,
            o.flag,
            o.env,
            o.help,
            "" if o.default in (None, "") else str(o.default),
            _metavar(o.name, o.parse, o.default),
            _kind(o.name),
        )
        for o in options
    ]
    components = [
        Component(ep.name, ep.value, ep.dist.name if ep.dist else "", ep.dist.version if ep.dist else "")
        for ep in entry_points(group=COMPONENTS_GROUP)
    ]
    sources = [s for s in map(_source_file, plugins.manager.get_plugins()) if s]
    return Inventory(declared, components), sources
