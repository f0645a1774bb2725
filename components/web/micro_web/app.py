"""``micro web``'s application: the dashboard on ``/``, its API on ``/_/``, web services on ``/<name>/``.

One aiohttp app with the shared edge (request ids, limits, authentication, deadlines,
errors) in front of everything, and the shared reverse proxy behind ``/<name>/``.
Names starting with ``_`` are the dashboard's own, so no web service can hide them.
"""

from __future__ import annotations

import hashlib
import html
from importlib import resources

from aiohttp import web

from micro_core import Service, errors
from micro_http import HttpSettings, application, set_timeout
from micro_http.proxy import Proxy
from micro_http.render import http_status
from micro_web.api import Api
from micro_web.catalog import Catalog
from micro_web.login import COOKIE, LOGIN_PATH, Login

STATIC = resources.files("micro_web") / "static"
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}
#: What anyone may load: the page shell and its assets (no data), and the login link.
PUBLIC = ("/", LOGIN_PATH, *(f"/_/static/{name}" for name in _ASSETS))


def _assets() -> tuple[bytes, list[web.RouteDef]]:
    """The page, and a route per asset. Each asset's URL carries a hash of its content, so a
    browser keeps it until the package changes and a reload costs one request, not three."""
    index = (STATIC / "index.html").read_text()
    routes = []
    for name, content_type in _ASSETS.items():
        body = (STATIC / name).read_bytes()
        index = index.replace(
            f"/_/static/{name}", f"/_/static/{name}?v={hashlib.sha256(body).hexdigest()[:12]}"
        )

        async def serve(
            request: web.Request, body: bytes = body, content_type: str = content_type
        ) -> web.Response:
            return web.Response(body=body, content_type=content_type, headers={"Cache-Control": _IMMUTABLE})

        routes.append(web.get(f"/_/static/{name}", serve))
    return index.encode(), routes


_IMMUTABLE = "public, max-age=31536000, immutable"


def _error_page(error: errors.MicroError, known: list[str]) -> web.Response:
    """What a browser sees when a web service cannot answer: the error, and where else to go."""
    links = "".join(f'<li><a href="/{html.escape(name)}/">/{html.escape(name)}/</a></li>' for name in known)
    page = _ERROR_PAGE.format(
        code=error.code,
        status=html.escape(error.status),
        detail=html.escape(error.detail),
        known=f"<p>Web services:</p><ul>{links}</ul>" if links else "<p>No web service is registered.</p>",
    )
    return web.Response(status=http_status(error), text=page, content_type="text/html")


_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>{code} {status}</title>
<style>body {{ font: 15px system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }}
code {{ background: #eef1f6; padding: .1rem .3rem; border-radius: 4px; }}</style></head>
<body><h1>{code} {status}</h1><p><code>{detail}</code></p>{known}<p><a href="/">The dashboard</a></p></body>
</html>
"""


async def build(
    kernel: Service, settings: HttpSettings, namespace: str, login: Login, proxy_timeout: float | None = None
) -> web.Application:
    """The whole app over a connected kernel; its cleanup closes the catalog and the proxy."""
    catalog = Catalog(kernel.registry, namespace)
    await catalog.start()

    async def known() -> list[str]:
        return [f"/{name}/" for name in catalog.web_names()]

    proxy = Proxy(
        kernel.selector, timeout=proxy_timeout or settings.timeout, known=known, hidden_cookies=[COOKIE]
    )
    prefix = f"{namespace}." if namespace else ""

    async def forward(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        set_timeout(request, None)  # the proxy times the backend's answer itself; bodies may stream
        rest = request.raw_path.partition("?")[0][len(name) + 1 :]
        try:
            return await proxy.forward(request, prefix + name, rest, prefix=f"/{name}")
        except errors.MicroError as error:
            if "text/html" not in request.headers.get("Accept", ""):
                raise  # the edge renders it as JSON
            return _error_page(error, catalog.web_names())

    async def slash(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(f"/{request.match_info['name']}/")

    index, assets = _assets()

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=index, content_type="text/html", headers={"Cache-Control": "no-cache"})

    app = application(settings, kernel.plugins, public=PUBLIC)
    app.add_routes(
        [
            web.get("/", page),
            web.get(LOGIN_PATH, login.handle),
            *assets,
            *Api(kernel, catalog, login).routes(),
            web.route("*", r"/{name:[^_/][^/]*}/{rest:.*}", forward),  # the busiest route first
            web.route("*", r"/{name:[^_/][^/]*}", slash),
        ]
    )

    async def close(app: web.Application) -> None:
        await proxy.close()
        await catalog.close()

    app.on_cleanup.append(close)
    return app


__all__ = ["PUBLIC", "build"]
