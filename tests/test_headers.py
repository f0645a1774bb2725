"""Header names are written once, in ``micro_core.headers``, in the spellings both peers use."""

from micro_core import headers


def test_go_spelling_is_how_go_canonicalises_a_header_name():
    assert headers.go_spelling(headers.TRACEPARENT) == headers.TRACEPARENT_GO == "Traceparent"
    assert headers.go_spelling("micro-id") == "Micro-Id"
    assert headers.go_spelling("X-B3-TRACEID") == "X-B3-Traceid"
