"""``micro new``: scaffold a service project or a third-party plugin distribution.

The templates are files under ``micro_cli/templates`` with ``$name``-style
placeholders (:class:`string.Template`); a directory called ``__package__`` becomes
the Python package, and the ``.tmpl`` suffix is dropped. A plugin is the files of
``plugin/_common`` (metadata, README, the ``micro.plugins`` module, the lazy package)
plus those of its kind (the driver and its tests); the kind's ``kind.toml`` holds the
values the shared files differ by, and a kind's file replaces the shared one of the same
name (a wrapper has no driver entry point, and its ``micro.plugins`` module holds its
hooks). The bot's plugin kinds (``bot-input``, ``bot-command``) are made the same way
from ``plugin/bot-common`` and their own files, with the values of their ``bot.toml``.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Iterable
from pathlib import Path

import click

from micro_cli.failures import BAD_INPUT, Failure

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PLUGIN_TEMPLATES = TEMPLATES / "plugin"
#: Plugin kinds that have a template (a ``kind.toml``): each one passes its own tests as generated.
PLUGIN_KINDS = sorted(p.parent.name for p in PLUGIN_TEMPLATES.glob("*/kind.toml"))
#: Plugin kinds of ``micro bot`` (a ``bot.toml``): a chat input and a command.
BOT_KINDS = sorted(p.parent.name for p in PLUGIN_TEMPLATES.glob("bot-*/bot.toml"))
_NAME = re.compile(r"[a-z][a-z0-9]*([-_][a-z0-9]+)*")
#: Longest NAME: the generated code stays within its line length (and lint-clean) up to here.
MAX_NAME = 30


def _check(name: str) -> str:
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise Failure(
            f"{name!r} is not a valid name: up to {MAX_NAME} lower-case letters, digits, - or _", BAD_INPUT
        )
    return name


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def render(templates: Iterable[Path], target: Path, values: dict[str, str]) -> list[Path]:
    """Copy the ``templates`` directories into ``target`` with placeholders filled.

    A file of a later template replaces the file of the same name of an earlier one.
    Refuses to overwrite anything: ``target`` must not exist yet, or be an empty directory.
    """
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise Failure(
            f"{target} already exists and is not an empty directory; nothing was written", BAD_INPUT
        )
    sources = {
        source.relative_to(template).with_suffix(""): source
        for template in templates
        for source in template.rglob("*.tmpl")
        if source.is_file()
    }
    written = []
    for relative, source in sorted(sources.items()):
        path = target / str(relative).replace("__package__", values["package"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(source.read_text()).substitute(values))
        written.append(path)
    return written


def _distribution(kind: str, name: str, cls: str) -> dict[str, str]:
    """The names every plugin template uses: distribution, package, class."""
    plugin = f"{kind}-{name.replace('_', '-')}"
    return {
        "kind": kind,
        "name": name,
        "plugin": plugin,
        "dist": f"micro-{plugin}",
        "package": f"micro_{plugin.replace('-', '_')}",
        "cls": cls,
    }


def _declared(values: dict[str, str], declared: dict[str, str]) -> dict[str, str]:
    for key, value in declared.items():  # in file order: a value may use those above it
        values[key] = string.Template(value).substitute(values)
    return values


def plugin_values(kind: str, name: str) -> dict[str, str]:
    """Every placeholder of the plugin templates for driver ``name`` of ``kind``."""
    declared = tomllib.loads((PLUGIN_TEMPLATES / kind / "kind.toml").read_text())
    option = f"{kind}_{name.replace('-', '_')}_{declared['setting']}"
    values = _distribution(kind, name, _class_name(name) + kind.capitalize())
    values["option"] = option
    values["flag"] = "--" + option.replace("_", "-")
    values["env"] = "MICRO_" + option.upper()
    return _declared(values, declared)


def bot_values(kind: str, name: str) -> dict[str, str]:
    """Every placeholder of the bot templates for input or command ``name`` of ``kind``.

    An input's settings are ``bot_<name>_*`` (``micro bot --<name>-url``, ``MICRO_BOT_<NAME>_URL``).
    """
    declared = tomllib.loads((PLUGIN_TEMPLATES / kind / "bot.toml").read_text())
    values = _distribution(kind, name.replace("_", "-"), _class_name(name) + declared["suffix"])
    values["ident"] = name.replace("-", "_")
    values["prefix"] = f"bot_{values['ident']}"
    values["env_prefix"] = "MICRO_" + values["prefix"].upper()
    return _declared(values, declared)


def _report(target: Path, next_steps: str) -> None:
    click.echo(f"created {target}")
    click.echo(next_steps)


@click.group()
def new() -> None:
    """Create a service project or a plugin distribution from a template."""


@new.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def service(path: Path, directory: Path) -> None:
    """A service project at PATH (in --dir if relative): handler, entry point, tests, README.

    The service is named by PATH's last part: ``micro new service ./services/billing`` makes ``billing``.
    """
    target = directory / path
    name = _check(Path(os.path.abspath(target)).name)  # abspath: "." and ".." name a directory too
    package = name.replace("-", "_")
    render([TEMPLATES / "service"], target, {"name": name, "package": package, "cls": _class_name(name)})
    _report(target, f"next: cd {target} && python -m pytest && micro run {package}")


@new.command()
@click.argument("kind", type=click.Choice(PLUGIN_KINDS + BOT_KINDS))
@click.argument("name", callback=lambda _c, _p, v: _check(v))
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def plugin(kind: str, name: str, directory: Path) -> None:
    """A plugin distribution micro-KIND-NAME: driver, entry point, conformance tests, README.

    A ``wrapper`` is middleware of every call, handler, publish and event, with its tests.
    The bot kinds make a chat input (``bot-input``) or a command (``bot-command``) of ``micro bot``.
    """
    if kind in BOT_KINDS:
        values, common = bot_values(kind, name), "bot-common"
    else:
        values, common = plugin_values(kind, name), "_common"
    target = directory / values["dist"]
    render([PLUGIN_TEMPLATES / common, PLUGIN_TEMPLATES / kind], target, values)
    _report(target, f"next: pip install -e '{target}[test]' && (cd {target} && python -m pytest)")
