"""The ``micro.plugins`` entry point: answers ``application/json`` with the protobuf-aware JSON codec.

Registered before the kernel's entry-point fallback (which is tried last), so with this
distribution installed a service that hints protobuf messages takes JSON too, and
publishes their shapes under the default content type. Non-protobuf values are encoded
exactly as before. Loading this plugin imports no protobuf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from micro_codec_protobuf.json import ProtobufJSONCodec
from micro_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from micro_core.codec import Codec
    from micro_core.options import Options


@hookimpl
def micro_codec(content_type: str, options: Options) -> Codec | None:
    if content_type in ProtobufJSONCodec.content_types:
        return ProtobufJSONCodec.from_options(options)
    return None
