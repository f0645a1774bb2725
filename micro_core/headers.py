"""Header names on the wire, shared with Go Micro so the two can call each other."""

ID = "Micro-Id"
SERVICE = "Micro-Service"
ENDPOINT = "Micro-Endpoint"
METHOD = "Micro-Method"
ERROR = "Micro-Error"
STREAM = "Micro-Stream"
TOPIC = "Micro-Topic"
CONTENT_TYPE = "Content-Type"
#: The caller's remaining time in nanoseconds (decimal), as Go Micro sends it.
TIMEOUT = "Timeout"
#: The request target, when an HTTP request was not sent to ``/`` (Go Micro's http
#: broker posts to ``/?id=<subscriber>``); the name Go Micro gives it too.
PATH = ":path"
#: The value of ``Micro-Error`` that ends a stream without an error.
END_OF_STREAM = "EOS"
#: The W3C trace context header, in lower case as W3C and gRPC metadata write it.
TRACEPARENT = "traceparent"
#: The same header from a Go peer: Go's net/http canonicalises header names (:func:`go_spelling`).
TRACEPARENT_GO = "Traceparent"

#: Headers that describe the call itself rather than the caller's metadata.
RESERVED = frozenset(
    {ID, SERVICE, ENDPOINT, METHOD, ERROR, STREAM, TOPIC, CONTENT_TYPE, TIMEOUT, PATH, "Accept"}
)


def go_spelling(name: str) -> str:
    """``name`` as Go's net/http canonicalises it (``Traceparent``, ``Micro-Id``).

    Go Micro sends every header this way, so a header a Python peer writes in lower
    case arrives from a Go peer in this spelling: a reader looks for both.
    """
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
