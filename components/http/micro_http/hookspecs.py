# mypy: disable-error-code="empty-body"
"""The hooks the HTTP components add to a micro plugin manager, named ``micro_*`` like the kernel's.

A plugin (a ``micro.plugins`` entry point, or an object given to ``Plugins.register``)
implements them with ``micro_core.hookimpl``; :func:`micro_http.auth.Authenticator`
adds these specs to the application's plugin manager, so a plugin that implements
one is checked against its signature there.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from micro_core.hookspecs import hookspec

if TYPE_CHECKING:
    from aiohttp import web

    from micro_http.auth import Identity


# --- the HTTP edge ---------------------------------------------------------------------


@hookspec
def micro_authenticate(request: web.BaseRequest) -> Identity | Awaitable[Identity | None] | None:
    """Say who sent ``request``, before it is routed; may return an awaitable.

    Every implementation is asked in turn (the most recently registered first) until
    one returns an :class:`~micro_http.auth.Identity`.

    :param request: the aiohttp request (headers, query, peer); do not read its body.
    :return: the caller's identity; None when the request carries no credentials this
        plugin understands (the next one is asked). Raise
        :class:`~micro_core.errors.Unauthorized` (401) for credentials that are wrong or
        expired, :class:`~micro_core.errors.Forbidden` (403) for a caller that is known
        but not allowed: the request is answered with that error.
    """


__all__ = ["micro_authenticate"]
