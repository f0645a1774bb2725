"""gRPC transport for micro: Micro calls and streams as standard gRPC (see :mod:`.transport`).

Installed, it is the transport ``grpc`` (``MICRO_TRANSPORT=grpc``); the kernel itself
needs no grpcio.
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_transport_grpc.transport import (
        GRPCConnection,
        GRPCListener,
        GRPCTransport,
        endpoint_of,
        path_of,
    )

__version__ = "0.1.0"
__getattr__ = lazy_exports(
    __name__,
    {
        name: ".transport"
        for name in ("GRPCConnection", "GRPCListener", "GRPCTransport", "endpoint_of", "path_of")
    },
)
__all__ = ["GRPCConnection", "GRPCListener", "GRPCTransport", "__version__", "endpoint_of", "path_of"]
