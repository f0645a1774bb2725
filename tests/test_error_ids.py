"""Every error the kernel raises names its raiser: each ``errors.X(...)`` in micro_core passes ``id=``.

Errors raised without one (a codec's 400, a handler's bare ``NotFound``) are named by
whoever hands them on: the server with the service's name, the client as ``micro.client``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from micro_core import errors

KERNEL = Path(errors.__file__).parent
ERROR_CLASSES = {name for name in errors.__all__ if name[:1].isupper() and name != "RETRIABLE_CODES"}


def _calls_without_id(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "errors"
            and (node.func.attr in ERROR_CLASSES or node.func.attr == "from_code")
            and not any(keyword.arg == "id" for keyword in node.keywords)
        ):
            found.append(f"{path.relative_to(KERNEL.parent)}:{node.lineno} errors.{node.func.attr}(...)")
    return found


def test_every_error_the_kernel_raises_names_its_raiser() -> None:
    sources = [p for p in KERNEL.rglob("*.py") if "testing" not in p.parts]
    assert [call for path in sorted(sources) for call in _calls_without_id(path)] == []


class Strict:
    async def count(self, n: int) -> int:
        return n

    async def find(self, key: str) -> str:
        raise errors.NotFound(f"no {key}")  # no id: the server names the service


@pytest.mark.parametrize("transport", ["http", "memory"])
async def test_errors_raised_without_an_id_reach_the_caller_under_the_services_name(
    micro_service, transport: str
) -> None:
    settings = {"server_address": "127.0.0.1:0"} if transport == "http" else {}
    service = await micro_service(Strict(), name="strict", transport=transport, **settings)
    with pytest.raises(errors.BadRequest) as refused:  # the JSON codec's 400, raised before the handler
        await service.client.call("strict", "Strict.Count", "not a number")
    assert refused.value.id == "strict"
    with pytest.raises(errors.NotFound) as missing:
        await service.client.call("strict", "Strict.Find", "k")
    assert (missing.value.id, missing.value.detail) == ("strict", "no k")


async def test_a_reply_the_client_cannot_decode_is_the_clients_own_error(micro_service) -> None:
    service = await micro_service(Strict(), name="strict")
    with pytest.raises(errors.BadRequest) as unreadable:
        await service.client.call("strict", "Strict.Count", 3, response_type=str)
    assert unreadable.value.id == "micro.client"


def test_attributed_keeps_an_id_the_raiser_gave() -> None:
    assert errors.attributed(errors.NotFound("x", id="users"), "orders").id == "users"
    assert errors.attributed(errors.NotFound("x"), "orders").id == "orders"
