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

#: Headers that describe the call itself rather than the caller's metadata.
RESERVED = frozenset(
    {ID, SERVICE, ENDPOINT, METHOD, ERROR, STREAM, TOPIC, CONTENT_TYPE, TIMEOUT, PATH, "Accept"}
)
