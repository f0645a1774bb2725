"""Replies shaped for chat: short tables, code blocks for JSON, long output cut with a note.

Chat clients show a few lines well and a wall of text badly, so every reply passes
through :func:`limit` before it is sent, and commands build their text with
:func:`table` and :func:`code`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

#: Rows a table shows before it says how many more there are.
MAX_ROWS = 20


def code(value: Any) -> str:
    """A value as an indented JSON code block (text is put in the block as it is)."""
    text = value if isinstance(value, str) else msgspec.json.format(msgspec.json.encode(value)).decode()
    return f"```\n{text}\n```"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_rows: int = MAX_ROWS) -> str:
    """Rows as aligned columns in a code block (chat fonts are proportional outside one)."""
    shown = [[str(cell) for cell in row] for row in rows[:max_rows]]
    widths = [max(len(str(h)), *(len(row[i]) for row in shown)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in shown]
    more = f"\n({len(rows) - max_rows} more not shown)" if len(rows) > max_rows else ""
    return "```\n" + "\n".join(lines) + "\n```" + more


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line of at most ``limit`` characters: how errors reach the user."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def limit(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters with a note saying so; an open code block is closed."""
    if len(text) <= max_chars:
        return text
    note = f"\n… (truncated: {len(text) - max_chars} of {len(text)} characters not shown)"
    cut = text[:max_chars]
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + note


__all__ = ["MAX_ROWS", "code", "limit", "one_line", "table"]
