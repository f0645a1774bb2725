"""``micro web``: the dashboard and the web services' reverse proxy, on 127.0.0.1:8082.

Safe by default: it listens on loopback; it refuses another address with
authentication switched off unless ``--insecure`` says that is meant; and it has no
default password: it prints a one-time login link instead.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import sys

import aiohttp.web
import click

from micro_core import Service
from micro_http import HttpSettings, http_options, run_component
from micro_web.app import build
from micro_web.login import Login
from micro_web.plugin import DEFAULT_NAMESPACE


def is_loopback(address: str) -> bool:
    """True when ``host:port`` listens on loopback only (``localhost`` included)."""
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, or empty (every interface)


@click.command("web")
@http_options("MICRO_WEB", address="127.0.0.1:8082")
@click.option(
    "--namespace",
    default=DEFAULT_NAMESPACE,
    envvar="MICRO_WEB_NAMESPACE",
    show_default=True,
    help="registry namespace of web services: /<name>/ is proxied to <namespace>.<name>",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="allow listening beyond loopback with authentication switched off (--no-auth)",
)
@click.pass_context
def web(ctx: click.Context, settings: HttpSettings, namespace: str, insecure: bool) -> None:
    """The dashboard (services, calls, nodes, topics, registry events) and the web services' proxy."""
    source = ctx.get_parameter_source("auth_required")
    explicit_off = source is not None and source.name != "DEFAULT" and not settings.auth_required
    if not explicit_off and not settings.auth_required:
        settings = dataclasses.replace(settings, auth_required=True)  # on unless switched off
    if not settings.auth_required and not is_loopback(settings.address) and not insecure:
        raise click.UsageError(
            f"refusing to serve {settings.address} without authentication: "
            "drop --no-auth, or add --insecure if everyone who can reach it may use it"
        )
    login = Login()

    async def app(kernel: Service) -> aiohttp.web.Application:
        kernel.plugins.register(login, "micro-web-login")
        return await build(kernel, settings, namespace, login)

    def listening(address: str) -> None:
        click.echo(f"micro web: dashboard on http://{address}/", err=True)
        if settings.auth_required:
            link = login.link(f"http://{address}")
            click.echo(f"micro web: open this link once to log in: {link}", err=True)
        if not is_loopback(address):
            click.echo("micro web: listening beyond loopback over plain HTTP", err=True)
        sys.stderr.flush()

    run_component(ctx, "micro.web.dashboard", settings.address, app, on_listening=listening)


__all__ = ["is_loopback", "web"]
