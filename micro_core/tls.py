"""TLS client contexts from the PEM files a plugin's ``*_tls_ca``, ``*_tls_cert`` and
``*_tls_key`` options name, with errors that say which file is at fault (``ssl``'s own
errors do not)."""

from __future__ import annotations

import ssl


def client_context(ca: str = "", cert: str = "", key: str = "", *, verify: bool = True) -> ssl.SSLContext:
    """A client context: ``ca`` is trusted instead of the system's roots, ``cert``/``key`` prove who we are.

    ``verify=False`` accepts any server certificate (for a test setup, never in production).
    ``ValueError`` names the setting and file that cannot be used.
    """
    if key and not cert:
        raise ValueError(f"tls_key {key!r} needs a tls_cert to go with it")
    try:
        context = ssl.create_default_context(cafile=ca or None)
    except OSError as exc:  # ssl.SSLError included
        raise ValueError(f"cannot load tls_ca {ca!r}: {exc}") from None
    if cert:
        try:
            context.load_cert_chain(cert, key or None)
        except OSError as exc:
            raise ValueError(f"cannot load tls_cert {cert!r} / tls_key {key!r}: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
