"""``micro sidecar``: the click command, found by ``micro`` through the ``micro.components`` entry point."""

from __future__ import annotations

import click
from aiohttp import web

from micro_core import Service
from micro_http import HttpSettings, http_options, run_component
from micro_sidecar import endpoints
from micro_sidecar.app import App
from micro_sidecar.delivery import DEFAULT_TEMPLATE
from micro_sidecar.sidecar import Settings, absolute, build


def _pairs(values: tuple[str, ...], hint: str, form: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` texts as pairs; a text without ``=`` or a key is a usage error naming ``hint``."""
    result = []
    for pair in values:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not {form}", param_hint=hint)
        result.append((key, value))
    return result


def _pushes(values: tuple[str, ...]) -> tuple[tuple[str, str | None, str], ...]:
    """``orders@billing=/events/orders`` → ``("orders", "billing", "/events/orders")``."""
    pushes = []
    for key, url in _pairs(values, "--push", "TOPIC[@QUEUE]=PATH|URL"):
        topic, _, queue = key.partition("@")
        pushes.append((topic, queue or None, url))
    return tuple(pushes)


@click.command()
@click.option("--name", help="the app's service name; without it the sidecar serves only its HTTP API")
@click.option("--app-address", metavar="URL", help="the app's base URL, e.g. http://127.0.0.1:3000")
@click.option("--app-version", default="latest", show_default=True, help="the app's service version")
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="the app's service metadata (repeat)")
@click.option(
    "--endpoints",
    "endpoints_file",
    type=click.Path(dir_okay=False),
    help="JSON file listing the app's endpoints (names, or registry entries)",
)
@click.option(
    "--openapi",
    metavar="PATH|URL",
    default="",
    help="the app's OpenAPI document (a path on the app or a URL): one endpoint per POST operation",
)
@click.option(
    "--health",
    "health",
    metavar="PATH|URL",
    default="",
    help="the app's health URL (2xx: healthy); failing deregisters the app, passing registers it",
)
@click.option(
    "--check-interval", type=float, default=5.0, show_default=True, help="seconds between health checks"
)
@click.option(
    "--template",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="path on the app a call goes to; {endpoint} and {service} are filled in",
)
@click.option(
    "--app-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="seconds a call to the app may take when the caller sent no deadline",
)
@click.option(
    "--push",
    "pushes",
    multiple=True,
    metavar="TOPIC[@QUEUE]=PATH|URL",
    help="push each message on TOPIC to this path on the app (or URL), acked on 2xx (repeat)",
)
@click.option(
    "--push-timeout",
    type=float,
    default=10.0,
    show_default=True,
    help="seconds a push endpoint has to answer before its message is delivered again",
)
@http_options("MICRO_SIDECAR", address="127.0.0.1:8081")
@click.pass_context
def sidecar(
    ctx: click.Context,
    name: str | None,
    app_address: str | None,
    app_version: str,
    metadata: tuple[str, ...],
    endpoints_file: str | None,
    openapi: str,
    health: str,
    check_interval: float,
    template: str,
    app_timeout: float,
    pushes: tuple[str, ...],
    push_timeout: float,
    settings: HttpSettings,
) -> None:
    """Stand beside an app in any language: register it, deliver calls to it, and give it micro over HTTP.

    \b
    micro sidecar --name greeter --app-address http://127.0.0.1:3000 --openapi /openapi.json --health /health
    curl -d '{"service": "shop", "endpoint": "Shop.Buy", "request": {"item": "tea"}}' 127.0.0.1:8081/rpc
    """
    app = None
    if name:
        if not app_address:
            raise click.UsageError("--name needs --app-address (where the app listens)")
        if endpoints_file and openapi:
            raise click.UsageError("give the endpoints either with --endpoints or with --openapi")
        try:
            listed = endpoints.from_file(endpoints_file) if endpoints_file else []
        except endpoints.EndpointsError as exc:
            raise click.BadParameter(str(exc), param_hint="--endpoints") from None
        app = App(
            name=name,
            url=app_address.rstrip("/"),
            version=app_version,
            metadata=dict(_pairs(metadata, "--metadata", "KEY=VALUE")),
            endpoints=listed,
            health_url=absolute(app_address, health) if health else "",
        )
    elif app_address:
        raise click.UsageError("--app-address needs --name (the app's service name)")
    options = Settings(
        app=app,
        openapi=openapi,
        template=template,
        check_interval=check_interval,
        app_timeout=app_timeout,
        push_timeout=push_timeout,
        pushes=_pushes(pushes),
    )

    async def start(service: Service) -> web.Application:
        try:
            return await build(service, options, settings)
        except endpoints.EndpointsError as exc:  # the app's OpenAPI document: one line, not a traceback
            raise click.ClickException(str(exc)) from None

    run_component(
        ctx,
        "micro.sidecar",
        settings.address,
        start,
        on_listening=lambda address: click.echo(f"micro sidecar serving on {address}", err=True),
    )


__all__ = ["sidecar"]
