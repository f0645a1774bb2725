"""Give an endpoint its own HTTP route: Go Micro's endpoint metadata, set before the service starts.

::

    service = Service("shop", handlers=[Shop()])
    expose(service, "Shop.Item", path="/items/{id}", method="GET")
    expose(service, "Shop.Page", path="/shop/page", handler="api")

The metadata travels with the service's registration; the gateway reads it from the
registry, so a Go Micro service that sets the same keys is routed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from micro_api.types import HANDLERS
from micro_core import Service


def _joined(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def expose(
    service: Service,
    endpoint: str,
    *,
    path: str | Sequence[str] = "",
    method: str | Sequence[str] = "",
    host: str | Sequence[str] = "",
    handler: str = "",
    timeout: float | None = None,
) -> None:
    """Set ``endpoint``'s gateway metadata: ``path`` (``{param}`` parts), ``method``, ``host``,
    ``handler`` (rpc, api, http, event) and ``timeout`` (seconds, the call's deadline).

    :raises ValueError: an unknown endpoint or handler, or a service already registered.
    """
    if service.address:
        raise ValueError(f"{service.name} is already started: expose endpoints before start()")
    route = service.server.routes.get(endpoint)
    if route is None:
        known = ", ".join(sorted(service.server.routes)) or "none"
        raise ValueError(f"{service.name} has no endpoint {endpoint!r} (has: {known})")
    if handler and handler not in HANDLERS:
        raise ValueError(f"handler {handler!r} is not one of {', '.join(HANDLERS)}")
    pairs = {
        "path": _joined(path),
        "method": _joined(method).upper(),
        "host": _joined(host),
        "handler": handler,
        "timeout": "" if timeout is None else f"{timeout:g}",
    }
    route.metadata.update({key: value for key, value in pairs.items() if value})


__all__ = ["expose"]
