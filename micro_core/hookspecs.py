# mypy: disable-error-code="empty-body"
"""Every hook a micro plugin can implement, grouped by the phase that calls it.

Hooks are named ``micro_*``. A hook may return a value, a callable or an awaitable;
the kernel awaits what needs awaiting. Driver hooks are ``firstresult``: the first
plugin that answers for the requested name wins, and the kernel's own fallback
(tried last) looks the name up among the installed entry points. Wrapper hooks are
meant for new-style ``@hookimpl(wrapper=True)`` implementations: take what the
inner layers built with ``yield`` and return it wrapped. A plain implementation
(wrapping the ``call``/``handler`` it is given) composes too: every plugin's layer
runs, the ``wrapper=True`` ones outermost. Like any pluggy implementation, a
wrapper may take only the parameters it needs (``options`` is there for those with
settings of their own: no module state keyed by service). A ``micro_*`` implementation that
matches no hook here is an error when its plugin is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from micro_core.broker import Broker, EventHandler
    from micro_core.client import Call
    from micro_core.codec import Codec
    from micro_core.health import CheckFunc
    from micro_core.options import Options
    from micro_core.registry import Registry
    from micro_core.selector import Selector
    from micro_core.service import Service
    from micro_core.transport import Message, Transport

hookspec = pluggy.HookspecMarker("micro")
hookimpl = pluggy.HookimplMarker("micro")

#: A client call as wrappers see it: the :class:`~micro_core.client.Call` in, the reply out.
CallFunc = Callable[["Call"], Awaitable["Message"]]
#: A server handler as wrappers see it: request message -> reply message.
HandlerFunc = Callable[["Message"], Awaitable["Message"]]
#: A publish as wrappers see it: topic and the encoded message, done once the broker took it.
PublishFunc = Callable[[str, "Message"], Awaitable[None]]


# --- configuration -------------------------------------------------------------------


@hookspec(historic=True)
def micro_add_options(options: Options) -> None:
    """Declare the plugin's settings with ``options.add(name, default, help)``.

    Historic, so a plugin registered late still sees the call. Each option becomes a
    ``--flag`` of the ``micro`` command and a ``MICRO_*`` environment variable.
    """


# --- drivers: the five abstractions ---------------------------------------------------


@hookspec(firstresult=True)
def micro_registry(name: str, options: Options) -> Registry | None:
    """Build the registry driver called ``name`` or return None if it is not yours.

    :param name: the selected driver (``--registry`` / ``MICRO_REGISTRY``).
    :param options: resolved settings, e.g. ``options["registry_address"]``.
    :return: an unconnected :class:`~micro_core.registry.Registry`.
    """


@hookspec(firstresult=True)
def micro_selector(name: str, registry: Registry, options: Options) -> Selector | None:
    """Build the selector called ``name`` over ``registry``, or return None.

    :param name: the selected strategy (``--selector`` / ``MICRO_SELECTOR``).
    :param registry: the registry whose services it balances.
    :param options: resolved settings.
    :return: a :class:`~micro_core.selector.Selector`.
    """


@hookspec(firstresult=True)
def micro_transport(name: str, options: Options) -> Transport | None:
    """Build the transport called ``name``, or return None.

    :param name: the selected transport (``--transport`` / ``MICRO_TRANSPORT``).
    :param options: resolved settings, e.g. ``options["max_message_size"]``.
    :return: a :class:`~micro_core.transport.Transport`.
    """


@hookspec(firstresult=True)
def micro_codec(content_type: str, options: Options) -> Codec | None:
    """The codec for ``content_type`` (parameters such as ``; charset`` removed), or None.

    :param content_type: e.g. ``application/json``.
    :param options: resolved settings.
    :return: a :class:`~micro_core.codec.Codec`.
    """


@hookspec(firstresult=True)
def micro_broker(name: str, registry: Registry, options: Options) -> Broker | None:
    """Build the broker called ``name``, or return None.

    :param name: the selected broker (``--broker`` / ``MICRO_BROKER``).
    :param registry: the registry, for brokers that find subscribers through it.
    :param options: resolved settings, e.g. ``options["broker_address"]``.
    :return: an unconnected :class:`~micro_core.broker.Broker`.
    """


# --- middleware -------------------------------------------------------------------------


@hookspec(firstresult=True)
def micro_wrap_call(call: CallFunc, options: Options) -> CallFunc:
    """Wrap the client's calls; built once per client, so a wrapper costs nothing when absent.

    :param call: the next layer inward; it takes a Call (service, endpoint, message, options)
        and returns the reply message, raising a MicroError for a remote error.
    :param options: the client's settings: a wrapper reads its own there and, when they
        switch it off, returns ``call`` unwrapped.
    :return: the wrapped call (implement with ``wrapper=True`` and ``yield``).
    """


@hookspec(firstresult=True)
def micro_wrap_handler(service: str, endpoint: str, handler: HandlerFunc, options: Options) -> HandlerFunc:
    """Wrap a server endpoint's handler; built once per endpoint at start.

    :param service: the serving service's name.
    :param endpoint: the endpoint ``Type.Method``.
    :param handler: the next layer inward.
    :param options: the server's settings.
    :return: the wrapped handler (implement with ``wrapper=True`` and ``yield``).
    """


@hookspec(firstresult=True)
def micro_wrap_publish(publish: PublishFunc, options: Options) -> PublishFunc:
    """Wrap the client's publishes; built once per client (tracing, metrics of events sent).

    :param publish: the next layer inward; it takes the topic and the encoded message
        (headers may still be added) and returns once the broker accepted it.
    :param options: the client's settings.
    :return: the wrapped publish (implement with ``wrapper=True`` and ``yield``).
    """


@hookspec(firstresult=True)
def micro_wrap_subscriber(topic: str, handler: EventHandler, options: Options) -> EventHandler:
    """Wrap a subscriber's event handler; built once per subscription.

    :param topic: the subscribed topic.
    :param handler: the next layer inward.
    :param options: the subscribing service's settings.
    :return: the wrapped handler (implement with ``wrapper=True`` and ``yield``).
    """


# --- health -------------------------------------------------------------------------------


@hookspec
def micro_health_checks(service: Service) -> Mapping[str, CheckFunc] | None:
    """Contribute health checks to ``service`` (a plugin's own connection, say); called at start.

    :param service: the service being started; its own checks are in ``service.health``.
    :return: check name -> check (see :mod:`micro_core.health`), all of the readiness kind;
        add liveness checks with ``service.health.add(name, func, "liveness")`` instead.
    """


# --- service lifecycle ---------------------------------------------------------------------


@hookspec
def micro_before_start(service: Service) -> Awaitable[None] | None:
    """Called before the server listens; may return an awaitable. An exception aborts the start.

    :param service: the service about to listen.
    """


@hookspec
def micro_after_start(service: Service) -> Awaitable[None] | None:
    """Called once the service listens and is registered.

    :param service: the running service (``service.address`` is set).
    """


@hookspec
def micro_before_stop(service: Service) -> Awaitable[None] | None:
    """Called when a stop begins, before deregistration and draining.

    :param service: the service about to stop.
    """


@hookspec
def micro_after_stop(service: Service) -> Awaitable[None] | None:
    """Called after the service stopped; errors are logged, the stop completes.

    :param service: the stopped service.
    """


__all__ = [
    "CallFunc",
    "HandlerFunc",
    "PublishFunc",
    "hookimpl",
    "hookspec",
]
