"""Registry events: a delete says whether the nodes expired or were deregistered."""

from __future__ import annotations

import pytest

from micro_core.registry import Event, EventType, Node, Service

GREETER = Service("greeter", nodes=[Node("g-1", "127.0.0.1:9001")])


def test_a_delete_is_a_deregistration_unless_it_says_expired() -> None:
    assert not Event(EventType.DELETE, GREETER).expired
    assert Event(EventType.DELETE, GREETER, expired=True).expired


@pytest.mark.parametrize("type_", [EventType.CREATE, EventType.UPDATE])
def test_only_a_delete_can_be_expired(type_: EventType) -> None:
    with pytest.raises(ValueError, match=f"only a delete can be expired, not a {type_.value}"):
        Event(type_, GREETER, expired=True)
