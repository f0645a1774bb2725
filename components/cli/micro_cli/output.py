"""How listing commands print: aligned columns on a terminal, JSON lines when piped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def output_option(func: F) -> F:
    """``--output json|table``; unset means table on a terminal and JSON otherwise."""
    option = click.option(
        "--output",
        "-o",
        type=click.Choice(["json", "table"]),
        default=None,
        help="table (default on a terminal) or JSON lines (default when piped)",
    )
    return option(func)


def resolve(output: str | None) -> str:
    if output:
        return output
    return "table" if sys.stdout.isatty() else "json"


def to_json(value: Any, *, pretty: bool = False) -> str:
    """JSON text; bytes that are not text are shown as text with replacement characters."""

    def fallback(obj: Any) -> Any:
        if isinstance(obj, bytes):
            return obj.decode(errors="replace")
        raise TypeError(f"{type(obj).__name__} is not JSON")

    return json.dumps(value, indent=2 if pretty else None, default=fallback)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Plain aligned columns under an upper-case header; a cell is the text of its value."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    header = [column.upper() for column in columns]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def emit(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], output: str | None) -> None:
    """Print ``rows`` as a table, or one JSON object per line."""
    rows = list(rows)
    if resolve(output) == "table":
        click.echo(table(rows, columns))
    else:
        for row in rows:
            click.echo(to_json(row))
