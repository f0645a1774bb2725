"""TLS contexts from PEM files, with errors that say which setting and file are at fault
(``ssl``'s own errors do not).

:func:`client_context` serves the plugins' ``*_tls_ca``/``*_tls_cert``/``*_tls_key``
options; :class:`TLSConfig` is the kernel's own ``tls_*`` options, which put a
service's transport and HTTP broker on TLS or mutual TLS.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from micro_core.options import Options


def client_context(ca: str = "", cert: str = "", key: str = "", *, verify: bool = True) -> ssl.SSLContext:
    """A client context: ``ca`` is trusted instead of the system's roots, ``cert``/``key`` prove who we are.

    ``verify=False`` accepts any server certificate (for a test setup, never in production).
    ``ValueError`` names the setting and file that cannot be used.
    """
    context = _context(ssl.Purpose.SERVER_AUTH, ca, cert, key)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def server_context(cert: str, key: str = "", ca: str = "") -> ssl.SSLContext:
    """A server context presenting ``cert``/``key``; with ``ca``, every client must present a
    certificate that ``ca`` signed (mutual TLS). ``ValueError`` names what cannot be used."""
    if not cert:
        raise ValueError("serving TLS needs a tls_cert (and its tls_key)")
    context = _context(ssl.Purpose.CLIENT_AUTH, ca, cert, key)
    if ca:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _context(purpose: ssl.Purpose, ca: str, cert: str, key: str) -> ssl.SSLContext:
    if key and not cert:
        raise ValueError(f"tls_key {key!r} needs a tls_cert to go with it")
    try:
        context = ssl.create_default_context(purpose, cafile=ca or None)
    except OSError as exc:  # ssl.SSLError included
        raise ValueError(f"cannot load tls_ca {ca!r}: {exc}") from None
    if cert:
        try:
            context.load_cert_chain(cert, key or None)
        except OSError as exc:
            raise ValueError(f"cannot load tls_cert {cert!r} / tls_key {key!r}: {exc}") from None
    return context


@dataclass(frozen=True)
class TLSConfig:
    """The TLS settings of a process's transport and HTTP broker; TLS is on once any file is named.

    ``cert``/``key`` are what its servers present; ``client_cert``/``client_key`` what its
    clients present (the server's pair when left empty, fine for a certificate issued for
    both uses). ``ca`` signs the peers: clients trust it instead of the system's roots, and
    servers require every client to present a certificate it signed (mutual TLS).
    """

    ca: str = ""
    cert: str = ""
    key: str = ""
    client_cert: str = ""
    client_key: str = ""

    @classmethod
    def from_options(cls, options: Options) -> TLSConfig | None:
        """The ``tls_*`` options, or None when they name no file (plaintext)."""
        config = cls(
            options["tls_ca"],
            options["tls_cert"],
            options["tls_key"],
            options["tls_client_cert"],
            options["tls_client_key"],
        )
        return config if config.ca or config.cert or config.client_cert else None

    def server_context(self) -> ssl.SSLContext:
        return server_context(self.cert, self.key, self.ca)

    @property
    def client_identity(self) -> tuple[str, str]:
        """The certificate and key clients present: their own pair, else the server's."""
        return (self.client_cert, self.client_key) if self.client_cert else (self.cert, self.key)

    def client_context(self) -> ssl.SSLContext:
        return client_context(self.ca, *self.client_identity)


__all__ = ["TLSConfig", "client_context", "server_context"]
