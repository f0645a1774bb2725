"""micro sidecar: an app in any language joins a micro system over plain HTTP.

The sidecar registers the app (while its health check passes), delivers calls from
the system to it as ``POST <app>/<Endpoint>``, and gives it the registry, calls by
name and the broker as a small HTTP API (:mod:`micro_sidecar.api`,
:mod:`micro_sidecar.events`) described by its own OpenAPI document.
"""

from micro_sidecar.app import App, Health, Registration, Status
from micro_sidecar.command import sidecar
from micro_sidecar.delivery import Delivery
from micro_sidecar.endpoints import EndpointsError, from_file, from_openapi
from micro_sidecar.sidecar import Settings, build

__all__ = [
    "App",
    "Delivery",
    "EndpointsError",
    "Health",
    "Registration",
    "Settings",
    "Status",
    "build",
    "from_file",
    "from_openapi",
    "sidecar",
]
