"""kafka-python, imported once: without its import-time warning, closing refused sockets.

kafka-python 3.0 reads its protocol schemas with ``importlib.resources.read_text``
(deprecated since Python 3.11), so under ``-W error`` the bare import fails. It also
leaves the socket of a refused connection to the garbage collector, which turns every
reconnect attempt against a stopped server into a ``ResourceWarning``; the wrapper
below closes it at once. Both are kafka-python bugs; drop the work-arounds with them.
``send_would_block`` is the one place that reads kafka-python's internals.
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"(read|open)_text is deprecated", DeprecationWarning)
    from kafka import (  # type: ignore[import-untyped]
        ConsumerRebalanceListener,
        KafkaAdminClient,
        KafkaConsumer,
        KafkaProducer,
    )
    from kafka.errors import KafkaError, TopicAlreadyExistsError  # type: ignore[import-untyped]
    from kafka.net.inet import KafkaNetSocket  # type: ignore[import-untyped]
    from kafka.structs import OffsetAndMetadata, TopicPartition  # type: ignore[import-untyped]


def _close_refused_sockets() -> None:
    connect = KafkaNetSocket.sock_connect

    async def sock_connect(self: Any, net: Any, sock: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await connect(self, net, sock, *args, **kwargs)
        except BaseException:
            sock.close()
            raise

    KafkaNetSocket.sock_connect = sock_connect


_close_refused_sockets()


def send_would_block(producer: Any, topic: str) -> bool:
    """Whether ``producer.send(topic, ...)`` would wait, as it does until it knows the topic's partitions.

    That metadata wait is the only one in kafka-python 3.0's ``send`` (it has no buffer
    pool to wait on), so a send for a known topic may run on the event loop. Asked on
    every publish, so it looks into the metadata's table of partitions rather than call
    ``partitions_for_topic``, which copies the topic's partitions into a new set.
    """
    return topic not in producer._metadata._partitions


__all__ = [
    "ConsumerRebalanceListener",
    "KafkaAdminClient",
    "KafkaConsumer",
    "KafkaError",
    "KafkaProducer",
    "OffsetAndMetadata",
    "TopicAlreadyExistsError",
    "TopicPartition",
    "send_would_block",
]
