"""A plain class becomes endpoints named as a Go service would name them."""

from collections.abc import AsyncIterator

import pytest

from micro_core import errors
from micro_core.handler import Kind, endpoint_name, routes_of
from micro_core.testing import call_endpoint, replace_dependency


class Store:
    def get(self, key: str) -> str:
        return f"real {key}"


class Users:
    def __init__(self) -> None:
        self.store = Store()

    async def get_user(self, key: str) -> str:
        return self.store.get(key)

    async def watch(self, key: str) -> AsyncIterator[str]:
        yield key

    async def sync(self, keys: AsyncIterator[str]) -> AsyncIterator[str]:
        async for key in keys:
            yield key

    def helper(self) -> None:
        """Not async: not an endpoint."""

    async def _private(self) -> None:
        """Private: not an endpoint."""


def test_public_async_methods_become_camel_case_endpoints():
    routes = {r.name: r for r in routes_of(Users())}
    assert set(routes) == {"Users.GetUser", "Users.Watch", "Users.Sync"}
    assert (routes["Users.GetUser"].kind, routes["Users.GetUser"].request_type) == (Kind.UNARY, str)
    assert routes["Users.Watch"].kind is Kind.SERVER_STREAM
    assert routes["Users.Sync"].kind is Kind.BIDI_STREAM


def test_endpoint_names():
    assert endpoint_name("say_hello") == "SayHello"
    assert endpoint_name("SayHello") == "SayHello"


def test_a_method_with_two_request_arguments_is_refused():
    class Bad:
        async def both(self, a: int, b: int) -> int:
            return a + b

    with pytest.raises(TypeError, match=r"Bad\.Both"):
        routes_of(Bad())


async def test_call_one_endpoint_directly():
    assert await call_endpoint(Users(), "Users.GetUser", "ada") == "real ada"


async def test_call_endpoint_reports_bad_input_like_the_server():
    with pytest.raises(errors.BadRequest):
        await call_endpoint(Users(), "Users.GetUser", 42)


async def test_replace_a_dependency():
    class FakeStore:
        def get(self, key: str) -> str:
            return f"fake {key}"

    users = Users()
    with replace_dependency(users, "store", FakeStore()):
        assert await call_endpoint(users, "Users.GetUser", "ada") == "fake ada"
    assert await call_endpoint(users, "Users.GetUser", "ada") == "real ada"
