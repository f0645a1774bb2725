"""``micro plugins``: what is installed, from which distribution, and what is selected now."""

from __future__ import annotations

from typing import Any

import click

from micro_cli.output import emit, output_option
from micro_cli.session import Session

#: Option that selects the driver of each kind; codecs are selected by content type.
_SELECTED_BY = {
    "registry": "registry",
    "selector": "selector",
    "transport": "transport",
    "broker": "broker",
    "codec": "content_type",
}


def _rows(session: Session) -> list[dict[str, Any]]:
    plugins = session.plugins  # autoloads micro.plugins: a broken one is recorded, not raised
    options = session.options
    selected = {kind: str(options[name]) for kind, name in _SELECTED_BY.items()}
    rows = []
    for info in plugins.inventory():
        kind = info.group.removeprefix("micro.")
        error = info.error
        if kind == "plugins":
            error = error or plugins.failures.get(info.name, "")
            active = not error and plugins.manager.get_plugin(info.name) is not None
        else:
            active = selected.get(kind) == info.name
        rows.append(
            {
                "kind": kind,
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "selected": "yes" if active else "",
                "error": error,
            }
        )
    return sorted(rows, key=lambda row: (row["kind"], row["name"]))


@click.command()
@output_option
@click.pass_obj
def plugins(session: Session, output: str | None) -> None:
    """List installed plugins by kind, with distribution and version, and which are selected now.

    A plugin that fails to import is listed with its error.
    """

    async def work(session: Session) -> list[dict[str, Any]]:
        return _rows(session)

    rows = session.run(work)
    columns = ["kind", "name", "distribution", "version", "selected"]
    emit(rows, [*columns, "error"] if any(row["error"] for row in rows) else columns, output)
