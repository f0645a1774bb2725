"""Who sent a request: the ``micro_authenticate`` hook, with bearer tokens and JWT built in.

Authentication is a hook so that a plugin can bring its own scheme (mTLS subjects,
API keys, an OAuth introspection call) without a change here; the built-in
:class:`BearerAuth` covers the common case with static tokens and JWTs checked by
PyJWT. When authentication is required, a request that no implementation identifies
is answered 401 with ``WWW-Authenticate: Bearer``; paths listed as public (health,
readiness, the API description) are never checked.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from micro_core import Plugins, errors, hookimpl
from micro_core.plugins import await_me_maybe
from micro_http.plugins import add_hookspecs

#: The call metadata key that carries the authenticated subject to the service.
SUBJECT = "Micro-Auth-Subject"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: who (``subject``) and what its credentials said (``claims``)."""

    subject: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    scheme: str = "bearer"


def bearer_token(request: web.BaseRequest) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class BearerAuth:
    """The built-in ``micro_authenticate``: static bearer tokens and JWTs.

    :param tokens: static token -> subject (compared in constant time).
    :param jwt_key: the HMAC secret, or the PEM public key for RS*/ES*/EdDSA tokens.
    :param algorithms: accepted JWT algorithms (never ``none``).
    :param audience: required ``aud`` claim, if set; ``issuer`` likewise for ``iss``.
    """

    def __init__(
        self,
        *,
        tokens: Mapping[str, str] | None = None,
        jwt_key: str = "",
        algorithms: Sequence[str] = ("HS256",),
        audience: str = "",
        issuer: str = "",
    ) -> None:
        if "none" in (a.lower() for a in algorithms):
            raise ValueError("the JWT algorithm 'none' accepts unsigned tokens; it cannot be allowed")
        self._tokens = dict(tokens or {})
        self._key = jwt_key
        self._algorithms = list(algorithms)
        self._audience = audience or None
        self._issuer = issuer or None

    @hookimpl
    def micro_authenticate(self, request: web.BaseRequest) -> Identity | None:
        token = bearer_token(request)
        if token is None:
            return None
        for known, subject in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return Identity(subject, {"sub": subject}, "token")
        if not self._key:
            raise errors.Unauthorized("unknown bearer token", id="micro.http.auth")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise errors.Unauthorized(f"invalid token: {exc}", id="micro.http.auth") from None
        return Identity(str(claims.get("sub", "")), claims, "jwt")


class Authenticator:
    """Asks the ``micro_authenticate`` implementations of one plugin manager who a caller is.

    :param plugins: the application's plugins (best built with :func:`~micro_http.plugins.http_plugins`,
        so that autoloaded plugins may implement the hook); the hook's spec is added if missing.
    :param required: answer 401 when nobody identifies the caller (else let it through
        anonymously, with ``identity`` None).
    :param public: paths that are never checked (exact matches).
    """

    def __init__(self, plugins: Plugins, *, required: bool = False, public: Collection[str] = ()) -> None:
        add_hookspecs(plugins)
        self._hook = plugins.manager.hook.micro_authenticate
        self.required = required
        self.public = frozenset(public)

    @property
    def active(self) -> bool:
        """False when no plugin implements the hook and credentials are optional: then nobody
        can be identified, and the edge skips :meth:`identify` (auth that is off costs nothing).
        Asked per request, so a plugin registered after the app was built still counts."""
        return self.required or bool(self._hook.get_hookimpls())

    async def identify(self, request: web.BaseRequest) -> Identity | None:
        """The caller's identity, None for an anonymous caller that may pass.

        :raises errors.Unauthorized: bad credentials, or none where they are required.
        """
        if request.path in self.public:
            return None
        for impl in reversed(self._hook.get_hookimpls()):  # pluggy's own order: last registered first
            identity = await await_me_maybe(impl.function(request=request))
            if identity is not None:
                if not isinstance(identity, Identity):
                    raise TypeError(
                        f"micro_authenticate of {impl.plugin_name} returned {type(identity).__name__}, "
                        "not an Identity or None"
                    )
                return identity
        if self.required:
            raise errors.Unauthorized(
                "this endpoint needs credentials: send Authorization: Bearer <token>", id="micro.http.auth"
            )
        return None


__all__ = ["SUBJECT", "Authenticator", "BearerAuth", "Identity", "bearer_token"]
