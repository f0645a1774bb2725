"""The settings every HTTP component shares, and the click options that set them.

``micro api``, ``micro web`` and the sidecar take the same flags for the same things
(address, CORS, limits, timeout, authentication), each also read from a
``<PREFIX>_*`` environment variable (``MICRO_API_MAX_BODY``…): one definition here,
so the three never drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class HttpSettings:
    """What the shared middleware enforces; the defaults are safe for a public edge."""

    #: ``host:port`` to listen on.
    address: str = "127.0.0.1:8080"
    #: Origins allowed to call from a browser (``*`` for any); empty: no CORS headers.
    cors_origins: tuple[str, ...] = ()
    #: Largest request body in bytes; a larger one is answered 413.
    max_body: int = 1 << 20
    #: Requests per second each client may make (a token bucket); 0: no limit.
    rate_limit: float = 0.0
    #: Requests a client may make at once above its rate (the bucket's size).
    rate_burst: int = 20
    #: Seconds a request may take unless its route says otherwise; the call's deadline.
    timeout: float = 10.0
    #: Request headers passed on to the service as call metadata (X-Request-Id always is).
    metadata_headers: tuple[str, ...] = ()
    #: Answer 401 to requests nobody authenticates.
    auth_required: bool = False
    #: Static bearer tokens: token -> subject.
    tokens: Mapping[str, str] = field(default_factory=dict)
    #: JWT verification key: an HMAC secret or a PEM public key (empty: no JWTs).
    jwt_key: str = ""
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_audience: str = ""
    jwt_issuer: str = ""


def _size(text: str) -> int:
    """``1048576``, ``512k``, ``10M``: bytes."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        return int(float(number) * scale)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size such as 1048576, 512k or 10M") from None


def _tokens(pairs: tuple[str, ...]) -> dict[str, str]:
    tokens = {}
    for pair in pairs:
        subject, sep, token = pair.partition("=")
        if not sep or not subject or not token:
            raise click.BadParameter(f"{pair!r} is not SUBJECT=TOKEN")
        tokens[token] = subject
    return tokens


def http_options(env_prefix: str, address: str = HttpSettings.address) -> Callable[[F], F]:
    """Add the shared flags to a click command and hand it ``settings: HttpSettings``.

    :param env_prefix: e.g. ``MICRO_API``: ``--max-body`` is also ``MICRO_API_MAX_BODY``.
    :param address: the component's default listening address.
    """
    defaults = HttpSettings()

    def env(name: str) -> str:
        return f"{env_prefix}_{name}"

    options = [
        click.option(
            "--address",
            default=address,
            envvar=env("ADDRESS"),
            show_default=True,
            help="host:port to listen on",
        ),
        click.option(
            "--cors-origin",
            "cors_origins",
            multiple=True,
            envvar=env("CORS_ORIGINS"),
            help="an origin browsers may call from (repeat; * for any)",
        ),
        click.option(
            "--max-body",
            default=str(defaults.max_body),
            envvar=env("MAX_BODY"),
            show_default=True,
            help="largest request body (bytes, or 512k, 10M); larger: 413",
        ),
        click.option(
            "--rate-limit",
            type=float,
            default=defaults.rate_limit,
            envvar=env("RATE_LIMIT"),
            show_default=True,
            help="requests per second per client (0: unlimited); over it: 429",
        ),
        click.option(
            "--rate-burst",
            type=int,
            default=defaults.rate_burst,
            envvar=env("RATE_BURST"),
            show_default=True,
            help="requests a client may send at once above its rate",
        ),
        click.option(
            "--timeout",
            type=float,
            default=defaults.timeout,
            envvar=env("TIMEOUT"),
            show_default=True,
            help="seconds per request, passed to the service as its deadline",
        ),
        click.option(
            "--metadata-header",
            "metadata_headers",
            multiple=True,
            envvar=env("METADATA_HEADERS"),
            help="request header passed on as call metadata (repeat)",
        ),
        click.option(
            "--auth/--no-auth",
            "auth_required",
            default=False,
            envvar=env("AUTH"),
            help="answer 401 to requests no authentication plugin or token accepts",
        ),
        click.option(
            "--auth-token",
            "tokens",
            multiple=True,
            envvar=env("AUTH_TOKENS"),
            help="a static bearer token, as SUBJECT=TOKEN (repeat)",
        ),
        click.option(
            "--jwt-key",
            default="",
            envvar=env("JWT_KEY"),
            help="JWT key: an HMAC secret, or @FILE with a PEM public key",
        ),
        click.option(
            "--jwt-algorithm",
            "jwt_algorithms",
            multiple=True,
            default=defaults.jwt_algorithms,
            envvar=env("JWT_ALGORITHMS"),
            show_default=True,
            help="accepted JWT algorithm (repeat)",
        ),
        click.option("--jwt-audience", default="", envvar=env("JWT_AUDIENCE"), help="required JWT aud"),
        click.option("--jwt-issuer", default="", envvar=env("JWT_ISSUER"), help="required JWT iss"),
    ]
    names = ("address", "cors_origins", "max_body", "rate_limit", "rate_burst", "timeout",
             "metadata_headers", "auth_required", "tokens", "jwt_key", "jwt_algorithms",
             "jwt_audience", "jwt_issuer")  # fmt: skip

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_settings(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names}
            key = given["jwt_key"]
            if key.startswith("@"):
                with open(key[1:]) as pem:
                    key = pem.read()
            given.update(max_body=_size(given["max_body"]), tokens=_tokens(given["tokens"]), jwt_key=key)
            settings = HttpSettings(**given)  # click gives tuples for the repeatable options
            return command(*args, settings=settings, **kwargs)

        wrapped: Any = with_settings
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


__all__ = ["HttpSettings", "http_options"]
