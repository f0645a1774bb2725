"""``micro api``: the click command, found by the ``micro`` CLI through ``micro.components``."""

from __future__ import annotations

import click
from aiohttp import web

from micro_api.gateway import Gateway, GatewayOptions, print_routes
from micro_api.types import HANDLERS
from micro_core import Service
from micro_http import HttpSettings, http_options, run_component


@click.command("api")
@http_options("MICRO_API", address="127.0.0.1:8080")
@click.option(
    "--handler",
    type=click.Choice(HANDLERS),
    default="rpc",
    envvar="MICRO_API_HANDLER",
    show_default=True,
    help="how requests without an endpoint-metadata route are served",
)
@click.option(
    "--namespace", default="", envvar="MICRO_API_NAMESPACE", help="/foo means service <namespace>.foo"
)
@click.option(
    "--enable-rpc",
    is_flag=True,
    envvar="MICRO_API_ENABLE_RPC",
    help="serve POST /rpc {service, endpoint, request}",
)
@click.pass_context
def api(ctx: click.Context, settings: HttpSettings, handler: str, namespace: str, enable_rpc: bool) -> None:
    """The API gateway: one HTTP entry point in front of every service."""
    options = GatewayOptions(handler=handler, namespace=namespace, enable_rpc=enable_rpc)
    gateway: Gateway | None = None

    async def build(service: Service) -> web.Application:
        nonlocal gateway
        gateway = Gateway(service, settings, options)
        return gateway.app()

    def listening(address: str) -> None:
        assert gateway is not None
        print_routes(gateway.catalogue.table, address)

    run_component(ctx, "micro.api", settings.address, build, on_listening=listening)


__all__ = ["api"]
