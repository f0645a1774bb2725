"""The generator: ``micro gen`` and ``protoc-gen-micro`` write the same typed modules, and
mypy accepts correct use and rejects a call with the wrong message type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import micro_core
from micro_codec_protobuf.generate import method_name, module_of, output_path

from .conftest import BIN, MICRO, PROTO

MYPY_INI = """\
[mypy]
strict = True
cache_dir = {cache}
# protoc's own .pyi output is not --strict clean (bare Mapping); ours is checked in full.
[mypy-helloworld_pb2]
disallow_any_generics = False
"""

GOOD_USE = """\
from collections.abc import AsyncIterator

import helloworld_pb2 as pb
from helloworld_micro import GreeterClient, GreeterServer, add_greeter_server
from micro_core.service import Service


class Greeter(GreeterServer):
    async def say_hello(self, request: pb.HelloRequest) -> pb.HelloReply:
        return pb.HelloReply(message="Hello " + request.name)

    async def count(self, request: pb.CountRequest) -> AsyncIterator[pb.Tick]:
        yield pb.Tick(n=request.to)


async def main(service: Service) -> str:
    add_greeter_server(service, Greeter())
    reply = await GreeterClient(service).say_hello(pb.HelloRequest(name="Ada"))
    ticks = [tick.n async for tick in GreeterClient(service.client, "greeter").count(pb.CountRequest(to=3))]
    return reply.message + str(sum(ticks))
"""

WRONG_MESSAGE = """\
import helloworld_pb2 as pb
from helloworld_micro import GreeterClient
from micro_core.service import Service


async def main(service: Service) -> None:
    await GreeterClient(service).say_hello(pb.HelloReply(message="not a request"))
"""


def _mypy(directory: Path, source: str) -> subprocess.CompletedProcess[str]:
    (directory / "mypy.ini").write_text(MYPY_INI.format(cache=directory / ".mypy_cache"))
    (directory / "example.py").write_text(source)
    env = {"PATH": str(BIN)}
    kernel = Path(micro_core.__file__).parent.parent
    if kernel.name != "site-packages":  # an editable install, which mypy cannot follow by itself
        env["MYPYPATH"] = str(kernel)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "helloworld_micro.py", "example.py"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(generated: Path, tmp_path: Path) -> Path:
    for name in ("helloworld_pb2.py", "helloworld_pb2.pyi", "helloworld_micro.py"):
        (tmp_path / name).write_bytes((generated / name).read_bytes())
    return tmp_path


def test_micro_gen_writes_messages_stubs_and_the_micro_module(generated: Path) -> None:
    for name in ("helloworld_pb2.py", "helloworld_pb2.pyi", "helloworld_micro.py"):
        assert (generated / name).is_file(), name
    text = (generated / "helloworld_micro.py").read_text()
    assert "class GreeterClient:" in text and "class GreeterServer:" in text


def test_the_generated_classes(micro_pb: ModuleType, pb: ModuleType) -> None:
    assert [m for m in vars(micro_pb.GreeterClient) if not m.startswith("_")] == [
        "say_hello",
        "count",
        "echo",
    ]
    assert [m for m in vars(micro_pb.GreeterServer) if not m.startswith("_")] == [
        "say_hello",
        "count",
        "echo",
    ]


def test_protoc_gen_micro_writes_the_same_module(generated: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO.parent}",
            f"--plugin=protoc-gen-micro={BIN / 'protoc-gen-micro'}",
            f"--micro_out={tmp_path}",
            str(PROTO),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "helloworld_micro.py").read_text() == (generated / "helloworld_micro.py").read_text()


def test_micro_gen_reports_a_broken_proto(tmp_path: Path) -> None:
    broken = tmp_path / "broken.proto"
    broken.write_text('syntax = "proto3";\nmessage M { strin name = 1; }\n')
    done = subprocess.run(
        [MICRO, "gen", str(broken), "--out", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "strin" in done.stderr and "protoc failed" in done.stderr
    assert not (tmp_path / "out" / "broken_micro.py").exists()


def test_mypy_accepts_the_generated_code_and_its_correct_use(generated: Path, tmp_path: Path) -> None:
    done = _mypy(_copy(generated, tmp_path), GOOD_USE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_rejects_a_call_with_the_wrong_message_type(generated: Path, tmp_path: Path) -> None:
    done = _mypy(_copy(generated, tmp_path), WRONG_MESSAGE)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'incompatible type "HelloReply"; expected "HelloRequest"' in done.stdout
    assert done.stdout.count("error:") == 1, done.stdout


def test_names() -> None:
    assert module_of("a/b-c.proto") == "a.b_c_pb2"
    assert output_path("a/b-c.proto") == "a/b_c_micro.py"
    assert method_name("SayHello") == "say_hello"
    assert method_name("HTTPGet") == "HTTPGet"  # http_get would publish HttpGet
    assert method_name("Import") == "Import"  # import is a keyword
