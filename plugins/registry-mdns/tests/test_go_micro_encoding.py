"""Go Micro's mDNS encoding, byte for byte: what a Go Micro node announces, we read; and back."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
import zlib

import pytest
from zeroconf import const, current_time_millis
from zeroconf._dns import DNSAddress, DNSPointer, DNSQuestion, DNSService, DNSText
from zeroconf._protocol.incoming import DNSIncoming
from zeroconf._protocol.outgoing import DNSOutgoing

from micro_core.registry import Endpoint, EventType, Node, Service, ServiceNotFound, Value
from micro_registry_mdns import MDNSRegistry, TxtError, decode_txt, encode_txt

from .conftest import RegistryFactory

PATIENCE = 15.0


def go_txt(payload: object) -> bytes:
    """TXT data exactly as Go Micro builds it: hex(zlib(JSON)) cut into 255-character strings."""
    return txt_strings(zlib.compress(json.dumps(payload).encode()))


def txt_strings(compressed: bytes) -> bytes:
    text = compressed.hex().encode()
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)]
    return b"".join(bytes([len(c)]) + c for c in chunks)


def go_payload(name: str, **extra: object) -> dict[str, object]:
    """A Go Micro node's ``mdnsTxt``: nil maps and slices come out as JSON null."""
    endpoint = {
        "name": "Greeter.Hello",
        "request": {
            "name": "Request",
            "type": "Request",
            "values": [{"name": "name", "type": "string", "values": None}],
        },
        "response": None,
        "metadata": None,
    }
    md = {"transport": "grpc", "broker": "http", "server": "mucp", "registry": "mdns", "protocol": "mucp"}
    return {"Service": name, "Version": "latest", "Endpoints": [endpoint], "Metadata": md, **extra}


def announce(registry: MDNSRegistry, *records: object, ttl: int = 120) -> None:
    """Send records the way a Go Micro host does: plain class IN, no cache-flush bit."""
    out = DNSOutgoing(const._FLAGS_QR_RESPONSE | const._FLAGS_AA)
    for record in records:
        out.add_answer_at_time(record, 0)  # type: ignore[arg-type]
    registry._zeroconf().async_send(out)


def go_node(name: str, node_id: str, txt: bytes, port: int = 9090, ttl: int = 120) -> list[object]:
    """A Go Micro node's records: SRV target is the host name, which owns the A record."""
    instance, host = f"{node_id}.{name}.micro.", "go-host-" + node_id + "."
    return [
        DNSPointer(f"{name}.micro.", const._TYPE_PTR, const._CLASS_IN, ttl, instance),
        DNSService(instance, const._TYPE_SRV, const._CLASS_IN, ttl, 0, 0, port, host),
        DNSText(instance, const._TYPE_TXT, const._CLASS_IN, ttl, txt),
        DNSAddress(host, const._TYPE_A, const._CLASS_IN, ttl, socket.inet_aton("127.0.0.1")),
    ]


@pytest.fixture
def name() -> str:
    return f"go.micro.srv.greeter-{uuid.uuid4().hex[:6]}"  # dots in the name, as Go Micro's often have


def test_txt_is_split_into_255_character_strings() -> None:
    endpoints = [Endpoint(f"Greeter.Method{i}", Value(uuid.uuid4().hex, "string")) for i in range(40)]
    entry = Service("greeter", "1", endpoints=endpoints, nodes=[Node("n", "127.0.0.1:1", {"k": "v"})])
    data = encode_txt(entry)
    lengths = []
    offset = 0
    while offset < len(data):
        lengths.append(data[offset])
        offset += 1 + data[offset]
    assert len(lengths) > 2 and set(lengths[:-1]) == {255} and 0 < lengths[-1] <= 255
    text = b"".join(data[i + 1 : i + 1 + 255] for i in range(0, len(data), 256))
    payload = json.loads(zlib.decompress(bytes.fromhex(text.decode())))
    assert list(payload) == ["Service", "Version", "Endpoints", "Metadata", "ServiceMetadata"]
    assert payload["Metadata"] == {"k": "v"} and payload["Endpoints"][0]["name"] == "Greeter.Method0"
    assert decode_txt(data) == Service("greeter", "1", endpoints=endpoints, nodes=[Node("", "", {"k": "v"})])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x05hello", "not hex"),
        (b"\x04abcd", "not zlib"),
        (b"\x09" + b"abc", "claims 9 bytes"),
        (txt_strings(zlib.compress(b'{"Service": "x"}')[:6]), "truncated"),
        (go_txt([1, 2]), "not a Go Micro service description"),
        (go_txt({"Version": "1"}), "not a Go Micro service description"),
        (go_txt({"Service": ""}), "names no service"),
        (go_txt({"Service": "x", "Metadata": {"k": 1}}), "not a Go Micro service description"),
    ],
)
def test_malformed_txt_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(TxtError, match=message):
        decode_txt(data)


def test_oversized_payload_is_refused() -> None:
    data = txt_strings(zlib.compress(b" " * (2 << 20)))
    with pytest.raises(TxtError, match="larger than"):
        decode_txt(data)


async def test_a_go_micro_node_is_read_correctly(open_mdns: RegistryFactory, name: str) -> None:
    registry = await open_mdns()
    watcher = registry.watch(name)
    try:
        announce(registry, *go_node(name, f"{name}-6b3f2c1e", go_txt(go_payload(name))))
        async with asyncio.timeout(PATIENCE):
            event = await anext(watcher)
    finally:
        await watcher.close()
    (found,) = await registry.get_service(name)
    assert event.type is EventType.CREATE and event.service == found
    assert found == Service(
        name,
        "latest",
        endpoints=[Endpoint("Greeter.Hello", Value("Request", "Request", [Value("name", "string")]))],
        nodes=[
            Node(
                f"{name}-6b3f2c1e",
                "127.0.0.1:9090",
                {
                    "transport": "grpc",
                    "broker": "http",
                    "server": "mucp",
                    "registry": "mdns",
                    "protocol": "mucp",
                },
            )
        ],
    )


async def test_foreign_and_malformed_records_are_skipped_with_a_warning(
    open_mdns: RegistryFactory, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await open_mdns()
    watcher = registry.watch()
    bad = {
        "garbage": b"\x0bhello world",
        "other-service": go_txt(go_payload(name + "-someone-else")),  # TXT names another service
        "truncated": go_txt(go_payload(name))[:100],
    }
    try:
        with caplog.at_level(logging.WARNING, logger="micro_registry_mdns"):
            for node_id, txt in bad.items():
                announce(registry, *go_node(name, node_id, txt))
            announce(registry, *go_node(name, "good", go_txt(go_payload(name))))
            async with asyncio.timeout(PATIENCE):
                event = await anext(watcher)  # the watch survives and reports the good node only
            (found,) = await registry.get_service(name)
            await registry.list_services()
    finally:
        await watcher.close()
    assert (event.type, event.service.nodes[0].id) == (EventType.CREATE, "good")
    assert [node.id for node in found.nodes] == ["good"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for node_id in bad:
        assert sum(f"{node_id}.{name}.micro." in line for line in warned) == 1, warned  # once, not per scan


async def test_we_answer_a_go_micro_lookup(open_mdns: RegistryFactory, name: str) -> None:
    """Go Micro's client asks from an ephemeral port; the answer comes back to it, in Go's format."""
    registry = await open_mdns()
    service = Service(name, "1.2", nodes=[Node(f"{name}-1", "127.0.0.1:9191", {"zone": "eu"})])
    await registry.register(service)

    query = DNSOutgoing(const._FLAGS_QR_QUERY, multicast=False, id_=4242)
    query.add_question(DNSQuestion(f"{name}.micro.", const._TYPE_PTR, const._CLASS_IN))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(PATIENCE)
        for packet in query.packets():
            sock.sendto(packet, (const._MDNS_ADDR, const._MDNS_PORT))
        reply = DNSIncoming(await asyncio.to_thread(lambda: sock.recv(9000)))

    assert reply.id == 4242 and not reply.is_query()
    by_type = {record.type: record for record in reply.answers()}
    assert by_type[const._TYPE_PTR].alias == f"{name}-1.{name}.micro."  # type: ignore[attr-defined]
    assert by_type[const._TYPE_SRV].port == 9191  # type: ignore[attr-defined]
    assert socket.inet_ntoa(by_type[const._TYPE_A].address) == "127.0.0.1"  # type: ignore[attr-defined]
    text = b"".join(s for s in _strings(by_type[const._TYPE_TXT].text))  # type: ignore[attr-defined]
    payload = json.loads(zlib.decompress(bytes.fromhex(text.decode())))
    assert (
        payload["Service"] == name and payload["Version"] == "1.2" and payload["Metadata"] == {"zone": "eu"}
    )


async def test_go_micro_service_listing_is_answered(open_mdns: RegistryFactory, name: str) -> None:
    registry, peer = await open_mdns(), await open_mdns()
    await registry.register(Service(name, "3", nodes=[Node("x", "127.0.0.1:9001")]))
    assert (name, "3") in {(s.name, s.version) for s in await peer.list_services()}
    assert name in peer._cache_reader().service_names(current_time_millis())  # Go Micro's _services wildcard


async def test_goodbye_from_a_go_micro_node_is_a_delete(open_mdns: RegistryFactory, name: str) -> None:
    registry = await open_mdns()
    txt = go_txt(go_payload(name))
    announce(registry, *go_node(name, "n1", txt))
    async with asyncio.timeout(PATIENCE):
        while True:
            try:
                await registry.get_service(name)
                break
            except ServiceNotFound:
                continue
    watcher = registry.watch(name)
    try:
        announce(registry, *go_node(name, "n1", txt, ttl=0))
        async with asyncio.timeout(PATIENCE):
            event = await anext(watcher)
        assert (event.type, event.service.nodes[0].id, event.expired) == (EventType.DELETE, "n1", False)
    finally:
        await watcher.close()


def _strings(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        out.append(data[i + 1 : i + 1 + data[i]])
        i += 1 + data[i]
    return out
