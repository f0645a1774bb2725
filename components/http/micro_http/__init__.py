"""The HTTP pieces micro's API gateway, web dashboard and sidecar share, on aiohttp.

- :mod:`~micro_http.render`: a micro error as an HTTP response (micro body or problem+json),
  and the schemas of both for OpenAPI documents;
- :mod:`~micro_http.edge`: the one middleware (request id, CORS, limits, auth, deadline,
  access log, Server-Timing) and :func:`application` that installs it;
- :mod:`~micro_http.plugins`: a kernel plugin manager that knows the HTTP hooks;
- :mod:`~micro_http.auth` and :mod:`~micro_http.hookspecs`: the ``micro_authenticate``
  hook, with bearer tokens and JWT built in;
- :mod:`~micro_http.translate`: an HTTP request as a call's request value;
- :mod:`~micro_http.resolve`: the path resolver (``/greeter/hello`` → ``Greeter.Hello``);
- :mod:`~micro_http.settings`: the shared flags (:func:`http_options`);
- :mod:`~micro_http.serve`: global flags → a connected kernel, an app served until SIGTERM;
- :mod:`~micro_http.proxy`: the reverse proxy with websocket relay.
"""

from micro_http.auth import Authenticator, BearerAuth, Identity
from micro_http.edge import (
    add_upstream,
    application,
    identity,
    metadata,
    request_id,
    set_timeout,
)
from micro_http.plugins import add_hookspecs, http_plugins
from micro_http.render import as_error, error_response
from micro_http.resolve import Candidate, candidates
from micro_http.serve import global_flags, kernel, run_component, serve
from micro_http.settings import HttpSettings, http_options
from micro_http.translate import parse_json, read_value

__all__ = [
    "Authenticator",
    "BearerAuth",
    "Candidate",
    "HttpSettings",
    "Identity",
    "add_hookspecs",
    "add_upstream",
    "application",
    "as_error",
    "candidates",
    "error_response",
    "global_flags",
    "http_options",
    "http_plugins",
    "identity",
    "kernel",
    "metadata",
    "parse_json",
    "read_value",
    "request_id",
    "run_component",
    "serve",
    "set_timeout",
]
