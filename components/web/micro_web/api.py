"""The dashboard's JSON and event-stream endpoints, under ``/_/api/``.

Reads (services, a service, its nodes' health and stats, the event log) answer from
the catalog or with ``Debug`` calls; acts (a call, a publish) need the CSRF token.
Live data (the service list, the log, a topic) is pushed as server-sent events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from typing import Any

import msgspec
from aiohttp import web

from micro_core import Event, Service, errors
from micro_http import read_value, set_timeout
from micro_web.catalog import Catalog
from micro_web.login import Login

#: Seconds a node has to answer ``Debug.Health`` / ``Debug.Stats`` for the dashboard.
_PROBE_TIMEOUT = 2.0
#: Seconds between comments that keep an idle event stream open through proxies.
_KEEPALIVE = 15.0

_encode = msgspec.json.Encoder().encode


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encode(data), status=status, content_type="application/json")


class CallForm(msgspec.Struct, forbid_unknown_fields=True):
    """What the call form posts."""

    service: str
    endpoint: str
    request: Any = None
    timeout: float = 10.0
    address: str = ""


class Api:
    """The handlers, over the connected kernel service, the catalog and the login."""

    def __init__(self, kernel: Service, catalog: Catalog, login: Login) -> None:
        self.kernel = kernel
        self.catalog = catalog
        self.login = login

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_/api/session", self.session),
            web.get("/_/api/services", self.services),
            web.get("/_/api/services/{name}", self.service),
            web.get("/_/api/services/{name}/nodes", self.nodes),
            web.get("/_/api/events", self.events),
            web.get("/_/api/log", self.log),
            web.post("/_/api/call", self.call),
            web.post("/_/api/stream", self.stream),
            web.post("/_/api/topics/{topic}", self.publish),
            web.get("/_/api/topics/{topic}", self.watch),
        ]

    async def session(self, request: web.Request) -> web.Response:
        return _json({"csrf": self.login.csrf(request)})

    async def services(self, request: web.Request) -> web.Response:
        return _json(self.catalog.rows())

    def _entries(self, name: str) -> list[Any]:
        entries = self.catalog.entries(name)
        if entries is None:
            raise errors.NotFound(f"no service {name!r} is registered", id="micro.web")
        return entries

    async def service(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        entries = self._entries(name)
        return _json({"name": name, "path": self.catalog.web_path(name, entries), "versions": entries})

    async def nodes(self, request: web.Request) -> web.Response:
        """Each node's ``Debug.Health`` and ``Debug.Stats``, asked at its address, all at once."""
        name = request.match_info["name"]
        client = self.kernel.client

        async def probe(version: str, node: Any) -> dict[str, Any]:
            started = time.perf_counter()
            row: dict[str, Any] = {"id": node.id, "address": node.address, "version": version}
            try:
                health, stats = await asyncio.gather(
                    client.call(
                        name, "Debug.Health", address=node.address, timeout=_PROBE_TIMEOUT, retries=0
                    ),
                    client.call(name, "Debug.Stats", address=node.address, timeout=_PROBE_TIMEOUT, retries=0),
                )
            except (errors.MicroError, OSError) as exc:
                row.update(health=None, stats=None, error=str(exc))
            else:
                row.update(health=health, stats=stats, error=None)
            row["ms"] = round((time.perf_counter() - started) * 1e3, 2)
            return row

        rows = await asyncio.gather(
            *(probe(entry.version, node) for entry in self._entries(name) for node in entry.nodes)
        )
        return _json(rows)

    async def log(self, request: web.Request) -> web.Response:
        return _json(list(self.catalog.log))

    # --- live ------------------------------------------------------------------------------

    async def _sse(
        self, request: web.Request, first: tuple[str, Any], queue: asyncio.Queue[tuple[str, Any]]
    ) -> web.StreamResponse:
        """Send ``first``, then each ``(event, data)`` of ``queue``, as server-sent events until the
        page goes away; a comment every few seconds keeps an idle stream open through proxies."""
        set_timeout(request, None)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        kind, data = first
        with contextlib.suppress(ConnectionError):
            while True:
                if kind:
                    await response.write(b"event: %s\ndata: %s\n\n" % (kind.encode(), _encode(data)))
                else:
                    await response.write(b": keep-alive\n\n")
                try:
                    kind, data = await asyncio.wait_for(queue.get(), _KEEPALIVE)
                except TimeoutError:
                    kind, data = "", None
        return response

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The service list and the log as they change: a snapshot first, then each change."""
        queue = self.catalog.listen()
        try:
            return await self._sse(request, ("snapshot", self.catalog.snapshot()), queue)
        finally:
            self.catalog.unlisten(queue)

    async def watch(self, request: web.Request) -> web.StreamResponse:
        """Every message published to the topic from now on, as it arrives."""
        topic = request.match_info["topic"]
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=1000)

        async def deliver(event: Event) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(("message", _message(event)))

        subscription = await self.kernel.broker.subscribe(topic, deliver)
        try:
            return await self._sse(request, ("subscribed", {"topic": topic}), queue)
        finally:
            await subscription.unsubscribe()

    # --- acting ----------------------------------------------------------------------------

    async def _form(self, request: web.Request) -> CallForm:
        self.login.check(request)
        try:
            return msgspec.json.decode(await request.read(), type=CallForm)
        except msgspec.DecodeError as exc:
            raise errors.BadRequest(f"malformed call form: {exc}", id="micro.web") from None

    async def call(self, request: web.Request) -> web.Response:
        """Call the endpoint: ``{"reply"}`` or the service's ``{"error"}`` with its code, and ``ms``.

        The service's error is the answer's content, not this request's failure: the form
        reached the service, and a browser logs every 4xx/5xx as a console error.
        """
        form = await self._form(request)
        set_timeout(request, form.timeout + 1)
        started = time.perf_counter()
        answer: dict[str, Any] = {}
        try:
            answer["reply"] = await self.kernel.client.call(
                form.service, form.endpoint, form.request, timeout=form.timeout, address=form.address or None
            )
        except errors.MicroError as exc:
            answer["error"] = exc.to_dict()
        answer["ms"] = round((time.perf_counter() - started) * 1e3, 2)
        return _json(answer)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Open a stream; each reply is one JSON line as it arrives, then ``{"end": …}``."""
        form = await self._form(request)
        set_timeout(request, None)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        started = time.perf_counter()
        end: dict[str, Any] = {"end": True}
        try:
            async with self.kernel.client.stream(
                form.service, form.endpoint, form.request, address=form.address or None
            ) as replies:
                async for reply in replies:
                    await response.write(_encode({"reply": reply}) + b"\n")
        except errors.MicroError as exc:
            end["error"] = exc.to_dict()
        end["ms"] = round((time.perf_counter() - started) * 1e3, 2)
        await response.write(_encode(end) + b"\n")
        await response.write_eof()
        return response

    async def publish(self, request: web.Request) -> web.Response:
        self.login.check(request)
        topic = request.match_info["topic"]
        value = await read_value(request)
        await self.kernel.client.publish(topic, value)
        return _json({"published": topic})


def _message(event: Event) -> dict[str, Any]:
    """A received message for the page: its headers and body, as JSON when it is JSON."""
    body = event.message.body
    try:
        value: Any = msgspec.json.decode(body)
        kind = "json"
    except msgspec.DecodeError:
        try:
            value, kind = body.decode(), "text"
        except UnicodeDecodeError:
            value, kind = base64.b64encode(body).decode(), "base64"
    return {"time": time.time(), "header": event.message.header, "body": value, "kind": kind}


__all__ = ["Api"]
