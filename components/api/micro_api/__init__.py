"""micro's API gateway (``micro api``): one HTTP entry point in front of every service.

Service authors import the ``api`` handler's types, the published event, and the
helper that gives an endpoint its own HTTP route (none of them loads the gateway)::

    from micro_api import Event, Pair, Request, Response, expose

The gateway itself is :mod:`micro_api.gateway`; the command, :mod:`micro_api.command`.
"""

from micro_api.expose import expose
from micro_api.types import Event, Pair, Request, Response

__all__ = ["Event", "Pair", "Request", "Response", "expose"]
