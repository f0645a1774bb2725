"""micro: services that find and call each other, with every backend a plugin.

The public API; everything else is an implementation module.
"""

from micro_core import context, errors
from micro_core.broker import Broker, Event
from micro_core.client import Call, Client, ClientStream
from micro_core.codec import Codec
from micro_core.hookspecs import hookimpl
from micro_core.options import Option, Options
from micro_core.plugins import DriverNotFound, Plugins
from micro_core.registry import Registry
from micro_core.selector import Selector
from micro_core.server import Server
from micro_core.service import Service, run
from micro_core.transport import Message, Transport

__version__ = "0.1.0"

__all__ = [
    "Broker",
    "Call",
    "Client",
    "ClientStream",
    "Codec",
    "DriverNotFound",
    "Event",
    "Message",
    "Option",
    "Options",
    "Plugins",
    "Registry",
    "Selector",
    "Server",
    "Service",
    "Transport",
    "__version__",
    "context",
    "errors",
    "hookimpl",
    "run",
]
