"""``micro gen PROTO...``: protoc's ``_pb2`` modules and stubs plus micro's typed client and server.

Runs the protoc bundled with grpcio-tools (``--python_out`` and ``--pyi_out``, so mypy
sees the message types) and renders the micro modules from the descriptor set that the
same protoc run produced, so nothing needs to be on PATH.
"""

from __future__ import annotations

import importlib.resources
import tempfile
from pathlib import Path

import click
from google.protobuf.descriptor_pb2 import FileDescriptorSet

from micro_codec_protobuf.generate import output_path, render


def _protoc(args: list[str]) -> int:
    """Run grpcio-tools' protoc, with its bundled well-known protos (``google/protobuf/*``) on the path."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # imported only when generating

    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    code: int = protoc.main(["protoc", f"-I{well_known}", *args])
    return code


@click.command()
@click.argument("protos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--proto-path",
    "-I",
    "include",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="directory to find imports in (repeatable) [default: each PROTO's directory]",
)
@click.option(
    "--out",
    "-o",
    default=".",
    type=click.Path(file_okay=False),
    show_default=True,
    help="directory to write the _pb2.py, _pb2.pyi and _micro.py modules to",
)
def gen(protos: tuple[str, ...], include: tuple[str, ...], out: str) -> None:
    """Generate typed micro clients and server bases for the services in PROTO files.

    \b
    micro gen helloworld.proto --out gen/
    # gen/helloworld_pb2.py(i): the messages; gen/helloworld_micro.py: GreeterClient, GreeterServer
    """
    roots = list(include) or sorted({str(Path(proto).parent) for proto in protos})
    Path(out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = Path(tmp) / "descriptors.pb"
        args = [*(f"-I{root}" for root in roots), f"--python_out={out}", f"--pyi_out={out}"]
        args += [f"--descriptor_set_out={descriptors}", "--include_imports", *protos]
        if _protoc(args) != 0:
            raise click.ClickException(f"protoc failed on {' '.join(protos)} (its message is above)")
        files = FileDescriptorSet.FromString(descriptors.read_bytes()).file
    wanted = {_relative(proto, roots) for proto in protos}
    for file in files:
        if file.name not in wanted:
            continue
        text = render(file, files)
        if text is not None:
            target = Path(out) / output_path(file.name)
            target.write_text(text)
            click.echo(str(target))


def _relative(proto: str, roots: list[str]) -> str:
    """The name protoc gives ``proto``: its path under the first include root that holds it."""
    path = Path(proto).resolve()
    for root in roots:
        if path.is_relative_to(Path(root).resolve()):
            return path.relative_to(Path(root).resolve()).as_posix()
    return path.name


__all__ = ["gen"]
