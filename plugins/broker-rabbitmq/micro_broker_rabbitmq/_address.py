"""Where the server is: an ``amqp://`` or ``amqps://`` URL turned into pika's connection parameters."""

from __future__ import annotations

import ssl
from urllib.parse import unquote, urlsplit

import pika  # type: ignore[import-untyped]

DEFAULT_ADDRESS = "amqp://guest:guest@127.0.0.1:5672/"
_PORTS = {"amqp": 5672, "amqps": 5671}


def redact(address: str) -> str:
    """``address`` with its password hidden, for error messages and logs."""
    url = urlsplit(address)
    if url.password is None:
        return address
    netloc = url.netloc.replace(f":{url.password}@", ":***@", 1)
    return url._replace(netloc=netloc).geturl()


def connection_parameters(
    address: str, *, tls: ssl.SSLContext | None, heartbeat: float, timeout: float
) -> pika.ConnectionParameters:
    """Parameters for ``amqp[s]://user:pass@host:port/vhost``; ``ValueError`` says what is wrong.

    The vhost is the path, percent-decoded (``/%2f`` and a bare ``/`` both mean ``/``).
    An ``amqps`` address without ``tls`` verifies the server against the system's roots.
    """
    url = urlsplit(address)
    if url.scheme not in _PORTS or not url.hostname:
        raise ValueError(f"RabbitMQ address {redact(address)!r} is not amqp[s]://user:pass@host:port/vhost")
    try:
        port = url.port or _PORTS[url.scheme]
    except ValueError:
        raise ValueError(f"RabbitMQ address {redact(address)!r} has an invalid port") from None
    if tls is not None and url.scheme != "amqps":
        raise ValueError(f"TLS settings need an amqps:// address, not {redact(address)!r}")
    ssl_options = None
    if url.scheme == "amqps":
        ssl_options = pika.SSLOptions(tls or ssl.create_default_context(), url.hostname)
    return pika.ConnectionParameters(
        host=url.hostname,
        port=port,
        virtual_host=unquote(url.path[1:]) or "/",
        credentials=pika.PlainCredentials(unquote(url.username or "guest"), unquote(url.password or "guest")),
        ssl_options=ssl_options,
        heartbeat=max(1, round(heartbeat)),
        connection_attempts=1,
        socket_timeout=timeout,
        stack_timeout=timeout,
        blocked_connection_timeout=None,
    )
