"""Errors keep their type and fields across the wire."""

from micro_core import errors


def test_round_trip_keeps_type_and_fields():
    sent = errors.NotFound("no such user", id="users")
    received = errors.parse(sent.to_json())
    assert type(received) is errors.NotFound
    assert received.to_dict() == {"id": "users", "code": 404, "detail": "no such user", "status": "Not Found"}


def test_go_micro_error_json_is_understood():
    received = errors.parse(
        b'{"id":"go.micro.client","code":408,"detail":"timed out","status":"Request Timeout"}'
    )
    assert isinstance(received, errors.Timeout) and received.id == "go.micro.client"


def test_plain_text_becomes_an_internal_error_with_that_text():
    received = errors.parse("rpc: can't find service Foo")
    assert (
        isinstance(received, errors.InternalServerError) and received.detail == "rpc: can't find service Foo"
    )


def test_unknown_code_keeps_its_code():
    received = errors.from_code(418, "teapot")
    assert type(received) is errors.MicroError and received.code == 418 and received.status == "I'm a Teapot"


def test_only_errors_that_never_reached_a_handler_are_retried():
    assert errors.is_retriable(errors.ServiceUnavailable("draining"))
    assert errors.is_retriable(ConnectionResetError())
    assert not errors.is_retriable(errors.InternalServerError("handler failed"))
    assert not errors.is_retriable(errors.BadRequest("bad"))


def test_a_429_from_a_peer_is_too_many_requests_and_is_not_retried():
    received = errors.parse(b'{"id":"micro.ratelimit","code":429,"detail":"slow down"}')
    assert type(received) is errors.TooManyRequests and received.status == "Too Many Requests"
    assert errors.TooManyRequests("slow down").code == 429
    assert not errors.is_retriable(received)
