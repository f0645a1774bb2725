"""micro's web side: web apps as registered services, and ``micro web`` (dashboard and proxy).

- :class:`WebService` runs an ASGI or aiohttp app as the service ``micro.web.<name>``;
- ``micro web`` (:mod:`micro_web.command`) proxies ``/<name>/`` to those services and
  serves the dashboard on ``/``.
"""

from micro_web.webservice import WEB_METADATA, WebService

__all__ = ["WEB_METADATA", "WebService"]
