"""MkDocs hook: a page for every plugin and component distribution, and the settings pages.

Each page is made at build time from the distribution's README and the options it
declares (``micro_add_options`` of its ``micro.plugins`` entry points), so a new
distribution is documented from its first commit, and no settings table can drift from
the code: the table *is* the code's answer. ``settings.md`` gets the kernel's options
the same way. Extra pages other people drop into ``docs/`` are put in the navigation too.
"""

from __future__ import annotations

import configparser
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FLOORS = {"Components": "components", "Plugins": "plugins"}
#: A Markdown link whose target is a relative path (README links point into the repository).
_RELATIVE_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:|#|mailto:)([^)]+)\)")


def distributions(floor: str) -> list[tuple[str, Path]]:
    """``(distribution name, directory)`` of every distribution under ``plugins/`` or ``components/``."""
    found = []
    for setup in sorted(ROOT.glob(f"{floor}/*/setup.cfg")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(setup)
        found.append((parser["metadata"]["name"], setup.parent))
    return found


def declared_options(distribution: str | None) -> list[Any]:
    """The options a distribution's plugins declare; ``None``: the kernel's own."""
    from micro_core import Options, Plugins

    def collect(plugins: Plugins) -> dict[str, Any]:
        options = Options(environ={})
        plugins.add_options(options)
        return {option.name: option for option in options}

    kernel = collect(Plugins(autoload=False))
    if distribution is None:
        return list(kernel.values())
    plugins = Plugins(autoload=False)
    for entry_point in entry_points(group="micro.plugins"):
        if entry_point.dist is not None and entry_point.dist.name == distribution:
            plugins.manager.register(entry_point.load(), name=entry_point.name)
    return [option for name, option in collect(plugins).items() if name not in kernel]


def settings_table(options: list[Any]) -> str:
    if not options:
        return "It declares no settings of its own.\n"
    rows = ["| flag | variable | default | meaning |", "|---|---|---|---|"]
    for option in options:
        default = "" if option.default in (None, "") else f"`{option.default}`"
        meaning = option.help.replace("|", "\\|")
        rows.append(f"| `{option.flag}` | `{option.env}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def page(name: str, directory: Path) -> str:
    readme = directory / "README.md"
    text = readme.read_text() if readme.exists() else f"# {name}\n"
    # Links into the repository do not exist on the site: keep their text, name the path.
    text = _RELATIVE_LINK.sub(lambda m: f"{m[1]} (`{directory.relative_to(ROOT) / m[2]}`)", text)
    source = directory.relative_to(ROOT)
    return (
        f"{text.rstrip()}\n\n## Settings\n\nGenerated from the options `{name}` declares; each is a flag "
        f"of `micro` and a `MICRO_*` variable (flag > variable > code > default).\n\n"
        f"{settings_table(declared_options(name))}\n"
        f"Source: `{source}/` (`pip install {name}`).\n"
    )


def on_config(config: Any) -> Any:
    """Fill the Components and Plugins sections; add any other page found in ``docs/``."""
    listed: set[str] = set()

    def walk(items: list[Any]) -> None:
        for item in items:
            for value in item.values() if isinstance(item, dict) else [item]:
                if isinstance(value, list):
                    walk(value)
                elif isinstance(value, str):
                    listed.add(value)

    nav = config["nav"]
    walk(nav)
    for item in nav:
        for title, floor in FLOORS.items():
            if isinstance(item, dict) and title in item:
                item[title] = [{name: f"{floor}/{d.name}.md"} for name, d in distributions(floor)]
    extra = sorted(
        str(path.relative_to(DOCS))
        for path in DOCS.rglob("*.md")
        if str(path.relative_to(DOCS)) not in listed
    )
    if extra:
        nav.append({"More": extra})
    return config


def on_files(files: Files, config: Any) -> Files:
    for floor in FLOORS.values():
        for name, directory in distributions(floor):
            path = f"{floor}/{directory.name}.md"
            files.append(File.generated(config, path, content=page(name, directory)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """``<!-- settings: kernel -->`` in a page becomes the kernel's settings table."""
    return markdown.replace("<!-- settings: kernel -->", settings_table(declared_options(None)))
