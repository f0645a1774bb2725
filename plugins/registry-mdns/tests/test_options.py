"""Choosing and configuring the mDNS registry by name, flags and environment."""

from __future__ import annotations

import pytest

from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import Node, RegistryUnavailable, Service
from micro_registry_mdns import MDNSRegistry

from .conftest import RegistryFactory


def options(environ: dict[str, str]) -> Options:
    opts = Options(environ=environ)
    plugins = Plugins(environ=environ)
    plugins.add_options(opts)
    return opts


def test_selected_by_name_and_configured_from_the_environment() -> None:
    environ = {
        "MICRO_REGISTRY_MDNS_INTERFACES": "127.0.0.1",
        "MICRO_REGISTRY_MDNS_DOMAIN": "lab",
        "MICRO_REGISTRY_MDNS_QUERY_TIMEOUT": "0.5",
    }
    registry = Plugins(environ=environ).registry("mdns", options(environ))
    assert isinstance(registry, MDNSRegistry)
    assert (registry.interfaces, registry.names.domain, registry.query_timeout) == (["127.0.0.1"], "lab", 0.5)


def test_default_is_every_interface() -> None:
    registry = MDNSRegistry.from_options(options({}))
    assert registry.interfaces is None and registry.names.domain == "micro"


@pytest.mark.parametrize("value", ["eth0", "127.0.0.1,not-an-ip", "::1", ","])
def test_bad_interface_list_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match=r"mDNS interface|no mDNS interface"):
        MDNSRegistry.from_options(options({"MICRO_REGISTRY_MDNS_INTERFACES": value}))


async def test_unusable_interface_is_registry_unavailable() -> None:
    registry = MDNSRegistry(interfaces=["192.0.2.1"])  # TEST-NET-1: not an address of this host
    with pytest.raises(RegistryUnavailable, match=r"192\.0\.2\.1"):
        await registry.connect()
    await registry.close()


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (Node("n" * 64, "127.0.0.1:1"), "not a valid DNS name"),
        (Node("n", "localhost:80"), "ip:port"),
        (Node("n", "127.0.0.1:0"), "port out of range"),
    ],
)
async def test_unannounceable_registration_is_a_clear_error_and_registers_nothing(
    open_mdns: RegistryFactory, node: Node, message: str
) -> None:
    registry = await open_mdns()
    good = Node("good", "127.0.0.1:9001")
    with pytest.raises(ValueError, match=message):
        await registry.register(Service("checked", nodes=[good, node]))
    assert registry._zone.answer([]) == []  # the good node was not half-registered either


async def test_using_a_registry_before_connect_says_so() -> None:
    with pytest.raises(RegistryUnavailable, match="connect"):
        await MDNSRegistry().register(Service("x", nodes=[Node("n", "127.0.0.1:1")]))
