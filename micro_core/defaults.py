"""The kernel's own plugin: the core settings and the innermost layer of every wrapper hook.

Registered by :class:`~micro_core.plugins.Plugins` exactly as a third-party plugin
would be; the built-in drivers themselves are found through entry points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from micro_core.broker.base import DEFAULT_MAX_REDELIVERIES
from micro_core.hookspecs import hookimpl
from micro_core.registry.base import DEFAULT_TTL
from micro_core.transport.base import DEFAULT_MAX_MESSAGE_SIZE
from micro_core.transport.limits import ServerLimits

if TYPE_CHECKING:
    from micro_core.broker import EventHandler
    from micro_core.hookspecs import CallFunc, HandlerFunc, PublishFunc
    from micro_core.options import Options


@hookimpl(tryfirst=True)  # the core settings come first, in --help too
def micro_add_options(options: Options) -> None:
    options.add("registry", "local", "registry driver: local, memory, or an installed plugin such as consul")
    options.add("registry_address", "", "registry address; for local, the directory that holds registrations")
    options.add(
        "broker", "http", "broker driver: http, memory, or an installed plugin such as rabbitmq or kafka"
    )
    options.add(
        "broker_address", "", "broker address (host:port to listen on for http; server URL for others)"
    )
    options.add(
        "broker_max_redeliveries",
        DEFAULT_MAX_REDELIVERIES,
        "deliveries of a failed message before it goes to the <topic>.dlq dead-letter topic",
        int,
    )
    options.add(
        "transport",
        "http",
        "transport driver: http (default, fastest), memory, or grpc (micro-transport-grpc)",
    )
    options.add("selector", "random", "node selection strategy: random or roundrobin")
    options.add("content_type", "application/json", "content type the client encodes requests with")
    options.add("server_address", "127.0.0.1:0", "host:port the server listens on (port 0: any free port)")
    options.add("server_advertise", "", "host:port to publish in the registry, if not the listening address")
    options.add("register_ttl", DEFAULT_TTL, "seconds a registration lives unless renewed", float)
    options.add("register_interval", DEFAULT_TTL / 3, "seconds between renewals of the registration", float)
    options.add("client_request_timeout", 5.0, "seconds a call may take, retries included", float)
    options.add(
        "client_retries",
        -1,
        "most further attempts on other nodes after a retriable failure; -1: as many as the call's"
        " deadline and the client's retry budget allow",
        int,
    )
    options.add("max_message_size", DEFAULT_MAX_MESSAGE_SIZE, "largest message body in bytes", int)
    options.add("shutdown_grace", 10.0, "seconds a stopping server waits for in-flight calls", float)
    limits = ServerLimits()
    options.add(
        "server_max_header_bytes", limits.max_header_bytes, "largest request line and headers in bytes", int
    )
    options.add(
        "server_read_timeout", limits.read_timeout, "seconds a client may take to send one request", float
    )
    options.add("server_idle_timeout", limits.idle_timeout, "seconds an idle connection stays open", float)
    options.add("server_max_connections", limits.max_connections, "open connections per listener", int)
    options.add("tls_ca", "", "CA (PEM) signing peers: clients trust it, servers require client certs")
    options.add("tls_cert", "", "certificate (PEM) the server presents; TLS is on once any tls_* file is set")
    options.add("tls_key", "", "private key (PEM) of tls_cert, if not in the certificate file")
    options.add("tls_client_cert", "", "certificate (PEM) the client presents (default: tls_cert)")
    options.add("tls_client_key", "", "private key (PEM) of tls_client_cert")
    options.add(
        "health_interval", 5.0, "seconds between runs of a service's health checks (readiness)", float
    )
    options.add("log_format", "text", "log lines as text, or json with service, node, trace and call ids")


@hookimpl(trylast=True)
def micro_wrap_call(call: CallFunc) -> CallFunc:
    return call


@hookimpl(trylast=True)
def micro_wrap_handler(service: str, endpoint: str, handler: HandlerFunc) -> HandlerFunc:
    return handler


@hookimpl(trylast=True)
def micro_wrap_publish(publish: PublishFunc) -> PublishFunc:
    return publish


@hookimpl(trylast=True)
def micro_wrap_subscriber(topic: str, handler: EventHandler) -> EventHandler:
    return handler
