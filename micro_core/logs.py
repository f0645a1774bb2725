"""One switch for log lines that join traces: ``MICRO_LOG_FORMAT=json`` (or ``--log-format json``).

Each line is then one JSON object with the service and node that wrote it and, inside a
call or event being handled, what ties it to the rest of the request's story:

- ``trace_id``: from the W3C ``traceparent`` the call or event arrived with, so a log
  search by a trace's id finds every service's lines of that trace;
- ``call_id``: for a call, the span id of the caller's span in that header (one per
  call); for an event, its message id (``Micro-Id``);
- ``endpoint`` or ``topic``: what was being handled.

It lives in the kernel because it needs nothing but the call's metadata (see
:mod:`micro_core.context`) and the header's text: it works with or without the
OpenTelemetry plugin (which is what puts ``traceparent`` in the metadata).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from micro_core import context, headers

#: The values of the ``log_format`` option.
FORMATS = ("text", "json")


class JSONFormatter(logging.Formatter):
    """One JSON object per record, with the service, node and the current call's ids."""

    def __init__(self, service: str, node: str) -> None:
        super().__init__()
        self._fields = {"service": service, "node": node}

    def format(self, record: logging.LogRecord) -> str:
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{created}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self._fields,
        }
        metadata = context.metadata()
        if metadata:
            _call_fields(metadata, line)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _call_fields(metadata: Mapping[str, str], line: dict[str, Any]) -> None:
    """Add what ties the line to its call or event: trace id, call id, endpoint or topic."""
    traceparent = metadata.get(headers.TRACEPARENT) or metadata.get(headers.TRACEPARENT_GO) or ""
    parts = traceparent.split("-")
    if len(parts) >= 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        line["trace_id"] = parts[1]
    topic = metadata.get(headers.TOPIC)
    if topic:
        line["topic"] = topic
        if headers.ID in metadata:
            line["call_id"] = metadata[headers.ID]
    else:
        if "trace_id" in line:
            line["call_id"] = parts[2]
        endpoint = metadata.get(headers.ENDPOINT)
        if endpoint:
            line["endpoint"] = endpoint


def configure(service: str, node: str, level: str = "INFO", format: str = "text") -> None:
    """Log to stderr at ``level``, as text or JSON lines, unless logging is already configured."""
    if format not in FORMATS:
        raise ValueError(f"log format {format!r}: expected one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(
        JSONFormatter(service, node) if format == "json" else logging.Formatter("%(name)s: %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler])


__all__ = ["FORMATS", "JSONFormatter", "configure"]
