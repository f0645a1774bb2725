"""Certificates for TLS tests against real servers, issued by a throwaway CA.

The CA is a ``trustme.CA`` the caller makes (``trustme`` is a test dependency in
requirements-dev.txt, not one of micro-kernel's), so this module needs it only to name
the type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import trustme


@dataclass(frozen=True)
class TLSFiles:
    """One side's TLS identity as PEM files, and the CA it trusts to sign the other side's.

    Paths are strings: they go into option values, environment variables and server configs.
    """

    ca: str
    cert: str
    key: str

    @classmethod
    def issue(cls, ca: trustme.CA, directory: Path, *names: str) -> TLSFiles:
        """A certificate for ``names`` (host names or IPs) signed by ``ca``, written into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        issued = ca.issue_cert(*names)
        files = cls(
            str(directory / "ca.pem"), str(directory / f"{names[0]}.pem"), str(directory / f"{names[0]}.key")
        )
        ca.cert_pem.write_to_path(files.ca)
        issued.cert_chain_pems[0].write_to_path(files.cert)
        issued.private_key_pem.write_to_path(files.key)
        return files
