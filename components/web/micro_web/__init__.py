"""micro's web side: web apps as registered services, and ``micro web`` (dashboard and proxy).

- :class:`WebService` runs an ASGI or aiohttp app as the service ``micro.web.<name>``;
- ``micro web`` (:mod:`micro_web.command`) proxies ``/<name>/`` to those services and
  serves the dashboard on ``/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from micro_web.webservice import WEB_METADATA, WebService

__all__ = ["WEB_METADATA", "WebService"]


def __getattr__(name: str) -> Any:
    """Imported on first use: every service autoloads ``micro_web.plugin``, which must not
    pull in aiohttp and uvicorn (``tests/test_startup.py``)."""
    if name in __all__:
        from micro_web import webservice

        return getattr(webservice, name)
    raise AttributeError(f"module 'micro_web' has no attribute {name!r}")
