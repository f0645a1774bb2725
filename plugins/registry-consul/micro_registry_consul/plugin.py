"""The Consul driver's settings: declared through ``micro_add_options``, read by ``from_options``.

Each becomes a flag and a ``MICRO_*`` variable like every core option, e.g.
``--registry-consul-token`` / ``MICRO_REGISTRY_CONSUL_TOKEN``. The agent addresses
themselves are the core ``registry_address`` (comma-separated for fail-over).
"""

from __future__ import annotations

from micro_core.hookspecs import hookimpl
from micro_core.options import Options

#: Seconds one request to the agent may take before the next agent is tried.
DEFAULT_TIMEOUT = 10.0

_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    """``false``/``0``/``no``/``off`` (any case) are false, ``true``/``1``/``yes``/``on`` true."""
    value = text.strip().lower()
    if value in _FALSE:
        return False
    if value in {"1", "true", "yes", "on"}:
        return True
    raise ValueError(f"expected true or false, got {text!r}")


def parse_scheme(text: str) -> str:
    scheme = text.strip().lower()
    if scheme not in {"http", "https"}:
        raise ValueError(f"expected http or https, got {text!r}")
    return scheme


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add("registry_consul_token", "", "Consul ACL token sent with every request")
    options.add(
        "registry_consul_scheme",
        "http",
        "http, or https for TLS (an address may also say https://host:port)",
        parse_scheme,
    )
    options.add("registry_consul_tls_ca", "", "CA bundle (PEM) that signs the Consul agents' certificates")
    options.add("registry_consul_tls_cert", "", "client certificate (PEM) for Consul TLS client auth")
    options.add("registry_consul_tls_key", "", "client private key (PEM), if not in the certificate file")
    options.add(
        "registry_consul_tls_verify", True, "verify the agents' TLS certificates (false: do not)", parse_bool
    )
    options.add(
        "registry_consul_timeout",
        DEFAULT_TIMEOUT,
        "seconds a request to one Consul agent may take before the next is tried",
        float,
    )
