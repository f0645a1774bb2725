"""A web app run as a micro service: one page and a websocket, behind ``micro web``.

Run it with ``python examples/webapp/app.py``, ``micro run examples/webapp/app.py``, or
``micro run app:app`` from this directory; then ``micro web`` serves it on
http://127.0.0.1:8082/webapp/. It needs ``pip install micro-web starlette``.

The page builds its links with ``url_for``: behind the proxy the app is told its base
path (``X-Forwarded-Prefix: /webapp``), so the same links work there and when the app
is opened directly.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from micro_web import WebService

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>webapp</title>
<style>
 body {{ font: 16px system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }}
 #log {{ border: 1px solid #ccc; border-radius: 6px; min-height: 6rem; padding: .5rem; }}
 #log p {{ margin: .2rem 0; }}
</style>
</head>
<body>
<h1>Hello from webapp</h1>
<p>Served by node <code>{node}</code>. <a id="self" href="{home}">This page</a></p>
<form id="say"><input id="text" aria-label="message" autofocus> <button>Send</button></form>
<div id="log" aria-live="polite"></div>
<script>
const url = new URL("{socket}", location.href);
url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
const ws = new WebSocket(url);
const log = document.getElementById("log");
function show(text) {{ const p = document.createElement("p"); p.textContent = text; log.append(p); }}
ws.onopen = () => {{ document.body.dataset.socket = "open"; }};
ws.onmessage = (event) => show(event.data);
ws.onclose = (event) => {{
  document.body.dataset.socket = "closed";
  show(`closed: ${{event.code}} ${{event.reason}}`);
}};
document.getElementById("say").onsubmit = (event) => {{
  event.preventDefault();
  const text = document.getElementById("text");
  ws.send(text.value);
  text.value = "";
}};
</script>
</body>
</html>
"""


async def home(request: Request) -> HTMLResponse:
    page = PAGE.format(
        node=request.url.netloc,
        home=request.url_for("home").path,
        socket=request.url_for("echo").path,
    )
    return HTMLResponse(page)


async def echo(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            text = await socket.receive_text()
            await socket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[Route("/", home, name="home"), WebSocketRoute("/ws", echo, name="echo")])

if __name__ == "__main__":
    WebService("webapp", app).run()
