"""``micro new``: scaffold a service project or a third-party plugin distribution.

The templates are files under ``micro_cli/templates`` with ``$name``-style
placeholders (:class:`string.Template`); a directory called ``__package__`` becomes
the Python package, and the ``.tmpl`` suffix is dropped.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import click

from micro_cli.failures import BAD_INPUT, Failure

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: Plugin kinds that have a template: each one passes its conformance suite as generated.
PLUGIN_KINDS = sorted(p.name for p in (TEMPLATES / "plugin").iterdir() if p.is_dir())
_NAME = re.compile(r"[a-z][a-z0-9]*([-_][a-z0-9]+)*")


def _check(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise Failure(f"{name!r} is not a valid name: lower-case letters, digits, - or _", BAD_INPUT)
    return name


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def render(template: Path, target: Path, values: dict[str, str]) -> list[Path]:
    """Copy ``template`` to ``target`` with placeholders filled; refuses to overwrite anything."""
    if target.exists():
        raise Failure(f"{target} already exists; nothing was written", BAD_INPUT)
    written = []
    for source in sorted(p for p in template.rglob("*.tmpl") if p.is_file()):
        relative = source.relative_to(template).with_suffix("")
        path = target / str(relative).replace("__package__", values["package"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(source.read_text()).substitute(values))
        written.append(path)
    return written


def _report(target: Path, next_steps: str) -> None:
    click.echo(f"created {target}")
    click.echo(next_steps)


@click.group()
def new() -> None:
    """Create a service project or a plugin distribution from a template."""


@new.command()
@click.argument("name", callback=lambda _c, _p, v: _check(v))
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def service(name: str, directory: Path) -> None:
    """A service project NAME: handler, entry point, tests, README."""
    package = name.replace("-", "_")
    target = directory / name
    render(TEMPLATES / "service", target, {"name": name, "package": package, "cls": _class_name(name)})
    _report(target, f"next: cd {target} && python -m pytest && micro run {package}")


@new.command()
@click.argument("kind", type=click.Choice(PLUGIN_KINDS))
@click.argument("name", callback=lambda _c, _p, v: _check(v))
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def plugin(kind: str, name: str, directory: Path) -> None:
    """A plugin distribution micro-KIND-NAME: driver, entry point, conformance tests, README."""
    dist = f"micro-{kind}-{name.replace('_', '-')}"
    package = dist.replace("-", "_")
    target = directory / dist
    values = {
        "name": name,
        "dist": dist,
        "package": package,
        "cls": _class_name(name) + kind.capitalize(),
        "content_type": f"application/x-{name}",
    }
    render(TEMPLATES / "plugin" / kind, target, values)
    _report(target, f"next: pip install -e {target} && (cd {target} && python -m pytest)")
