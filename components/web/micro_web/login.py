"""Who may use the dashboard: a one-time login link, session cookies, and CSRF tokens.

There is no default password. At start ``micro web`` prints a link with a random
token (as Jupyter does); opening it once trades the token for a session cookie
(HttpOnly, SameSite=Strict) and spends it. The session is recognised by a
``micro_authenticate`` implementation, the hook every HTTP component shares, so a
plugin can replace or add schemes (bearer tokens and JWTs come built in).

Forms that act (a call, a publish) also carry ``X-CSRF-Token``: the session's token,
which a page of another origin cannot read, so it cannot make the browser act with
the operator's cookie. Callers with a bearer token send no ambient credentials and
need none.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from micro_core import errors, hookimpl
from micro_http import Identity, identity

#: The session cookie; the proxy never passes it on to web services.
COOKIE = "micro_web_session"
#: The header a dashboard form sends its CSRF token in.
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/_/login"
#: Who a session belongs to.
OPERATOR = "operator"


class Login:
    """The login token, the sessions it opened, and their CSRF tokens; one per ``micro web``."""

    def __init__(self) -> None:
        self._token: str | None = secrets.token_urlsafe(32)
        self._sessions: dict[str, str] = {}  # session id -> CSRF token
        #: The CSRF token of callers without a session (authentication switched off on loopback).
        self._anonymous = secrets.token_urlsafe(32)

    def link(self, base: str) -> str:
        """The one-time login URL for a server at ``base`` (``http://127.0.0.1:8082``)."""
        if self._token is None:
            raise RuntimeError("the login link was used already")
        return f"{base}{LOGIN_PATH}?token={self._token}"

    @hookimpl
    def micro_authenticate(self, request: web.BaseRequest) -> Identity | None:
        session = request.cookies.get(COOKIE)
        if session is None or session not in self._sessions:
            return None
        return Identity(OPERATOR, {"sub": OPERATOR}, "session")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /_/login?token=…``: spend the token, open a session, go to the dashboard."""
        token = request.query.get("token", "")
        if self._token is None or not hmac.compare_digest(token.encode(), self._token.encode()):
            raise errors.Unauthorized(
                "this login link is not valid (each link works once): restart micro web for a new one",
                id="micro.web.login",
            )
        self._token = None
        session = secrets.token_urlsafe(32)
        self._sessions[session] = secrets.token_urlsafe(32)
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    def csrf(self, request: web.BaseRequest) -> str:
        """The CSRF token the page must send back with forms."""
        session = request.cookies.get(COOKIE)
        return self._sessions.get(session or "", self._anonymous)

    def check(self, request: web.BaseRequest) -> None:
        """Refuse (403) a form post from a browser session without the right CSRF token."""
        who = identity(request)
        if who is not None and who.scheme != "session":
            return  # a bearer token is sent deliberately, never by a browser on its own
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.csrf(request).encode()):
            raise errors.Forbidden(f"missing or wrong {CSRF_HEADER}: reload the page", id="micro.web.csrf")


__all__ = ["COOKIE", "CSRF_HEADER", "LOGIN_PATH", "Login"]
