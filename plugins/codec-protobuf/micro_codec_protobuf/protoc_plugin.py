"""``protoc-gen-micro``: the generator as a protoc plugin, for builds that already run protoc.

protoc -I. --python_out=. --pyi_out=. --micro_out=. helloworld.proto
"""

from __future__ import annotations

import sys

from google.protobuf.compiler.plugin_pb2 import CodeGeneratorRequest, CodeGeneratorResponse

from micro_codec_protobuf.generate import output_path, render


def generate(request: CodeGeneratorRequest) -> CodeGeneratorResponse:
    """One ``_micro.py`` file per requested proto that defines a service."""
    response = CodeGeneratorResponse(supported_features=CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL)
    by_name = {file.name: file for file in request.proto_file}
    for name in request.file_to_generate:
        try:
            text = render(by_name[name], request.proto_file)
        except KeyError as exc:
            response.error = f"{name}: message type {exc} is not among the files protoc passed"
            return response
        if text is not None:
            response.file.add(name=output_path(name), content=text)
    return response


def main() -> None:
    request = CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


__all__ = ["generate", "main"]
