"""What every selector does: pick a node of a service for the next call, and learn from failures."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import ClassVar

from micro_core.options import Options
from micro_core.registry.base import Registry
from micro_core.registry.model import Node, Service

#: Narrows the candidate services (and so their nodes) before a node is picked.
Filter = Callable[[list[Service]], list[Service]]
#: Whether a node answers again: True once a connection to it can be made.
Probe = Callable[[Node], Awaitable[bool]]


class Unreachable(ConnectionError):
    """No connection to a node could be made at all (refused, no route, no answer to the
    dial): its process is most likely gone. Reported to :meth:`Selector.mark`, it keeps
    the node out of the selection until the registry shows it registered again or
    :attr:`Selector.probe` finds it answering."""


class Selector(abc.ABC):
    """Client-side load balancing over the nodes the registry knows."""

    #: The driver's name, as selected with ``--selector`` / ``MICRO_SELECTOR``.
    name: ClassVar[str]
    #: How to tell that an :class:`Unreachable` node answers again; the client sets it to a
    #: dial over its transport. None: only the registry brings such a node back.
    probe: Probe | None = None

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> Selector:
        return cls(registry)

    @abc.abstractmethod
    async def select(
        self, service: str, *, filters: Sequence[Filter] = (), exclude: Collection[str] = ()
    ) -> Node:
        """A node of ``service`` passing ``filters`` and not in ``exclude`` (node ids).

        Raises :class:`~micro_core.registry.ServiceNotFound` when the service is unknown and
        :class:`~micro_core.errors.ServiceUnavailable` when no node is left to try.
        """

    @abc.abstractmethod
    def mark(self, service: str, node: Node, error: BaseException | None) -> None:
        """Report how a call to ``node`` went, so failing nodes are avoided for a while
        (an :class:`Unreachable` one until it is known to be back)."""

    async def close(self) -> None:
        """Stop watching the registry."""
