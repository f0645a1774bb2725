"""micro_core.tls: client contexts from the PEM files plugins' TLS options name."""

from __future__ import annotations

import ssl

import pytest

from micro_core.testing.tls import TLSFiles
from micro_core.tls import client_context


def test_a_context_trusts_only_the_given_ca(tls_client: TLSFiles) -> None:
    context = client_context(tls_client.ca, tls_client.cert, tls_client.key)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the given CA instead of the system's roots


def test_verify_false_accepts_any_server() -> None:
    context = client_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ({"ca": "/nonexistent/ca.pem"}, "cannot load tls_ca '/nonexistent/ca.pem'"),
        ({"cert": "/nonexistent/c.pem"}, "cannot load tls_cert '/nonexistent/c.pem'"),
        ({"key": "/etc/client.key"}, "tls_key '/etc/client.key' needs a tls_cert"),
    ],
)
def test_an_unusable_file_is_named(files: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        client_context(**files)
