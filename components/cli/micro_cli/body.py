"""Request bodies: a JSON argument, ``-d @file``, ``-d -`` or piped stdin."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from micro_cli.failures import BAD_INPUT, Failure


def parse_json(text: str, where: str) -> Any:
    """The value of ``text``; a one-line error that says where the bad JSON came from."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Failure(f"bad JSON in {where}: {exc}", BAD_INPUT) from None


def read(argument: str | None, data: str | None, *, default: Any = None) -> Any:
    """The body from the argument, else ``--data`` (``@file``, ``-`` for stdin, or JSON text),
    else stdin when it is piped, else ``default``."""
    if argument is not None and data is not None:
        raise Failure("give the body either as an argument or with --data, not both", BAD_INPUT)
    if argument is not None:
        return parse_json(argument, "the argument")
    if data is not None:
        if data == "-":
            return parse_json(sys.stdin.read(), "stdin")
        if data.startswith("@"):
            try:
                text = Path(data[1:]).read_text()
            except OSError as exc:
                raise Failure(f"cannot read {data[1:]}: {exc.strerror or exc}", BAD_INPUT) from None
            return parse_json(text, data[1:])
        return parse_json(data, "--data")
    if not sys.stdin.isatty():
        text = sys.stdin.read()
        if text.strip():
            return parse_json(text, "stdin")
    return default
