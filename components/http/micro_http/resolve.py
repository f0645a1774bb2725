"""The path resolver: which service and endpoint an HTTP path names, as Go Micro's gateway reads it.

``/greeter/hello`` → service ``greeter``, endpoint ``Greeter.Hello``;
``/greeter/say/hello`` → ``greeter``, ``Say.Hello``; ``/greeter`` → ``Greeter.Call``.
A leading version segment (``/v1/greeter/hello``) names service ``v1.greeter`` first
(Go Micro's convention) and then ``greeter``. With a namespace, ``/foo`` means
``<namespace>.foo``. A path can name more than one candidate; the caller takes the
first one that is registered and, when none is, says which were tried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^v\d+$")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One service and endpoint a path may mean."""

    service: str
    endpoint: str

    def __str__(self) -> str:
        return f'service "{self.service}" endpoint "{self.endpoint}"'


def title(segment: str) -> str:
    """A path segment as a Go-style name part: ``say_hello`` / ``say-hello`` → ``SayHello``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-]", segment) if part)


def candidates(path: str, namespace: str = "") -> list[Candidate]:
    """Every (service, endpoint) ``path`` may mean, most likely first; empty for ``/``."""
    segments = [segment for segment in path.split("/") if segment]
    if not segments:
        return []
    services = [segments[0]]
    if len(segments) > 1 and _VERSION.match(segments[0]):
        segments = segments[1:]
        services = [f"{services[0]}.{segments[0]}", segments[0]]
    name, rest = segments[0], segments[1:]
    last = name.rsplit(".", 1)[-1]
    if not rest:
        endpoints = [f"{title(last)}.Call"]
    elif len(rest) == 1:
        endpoints = [f"{title(last)}.{title(rest[0])}", f"{title(rest[0])}.Call"]
    elif len(rest) == 2:
        endpoints = [f"{title(rest[0])}.{title(rest[1])}"]
    else:
        return []
    prefix = f"{namespace}." if namespace else ""
    return [Candidate(prefix + service, endpoint) for service in services for endpoint in endpoints]


__all__ = ["Candidate", "candidates", "title"]
