"""``micro shell`` driven as a user would, through a pseudo-terminal: top-level await,
services as objects with typed endpoint methods, Tab completion, history."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

MICRO = str(Path(sys.executable).parent / "micro")
PROMPT = ">>> "


@pytest.fixture
def open_shell(micro_env: dict[str, str]) -> Iterator[Callable[[], pexpect.spawn]]:
    """Start ``micro shell`` in a pty; each is left with Ctrl-D and must exit 0."""
    opened: list[pexpect.spawn] = []

    def start() -> pexpect.spawn:
        shell = pexpect.spawn(
            MICRO, ["shell"], env={**micro_env, "TERM": "dumb"}, encoding="utf-8", timeout=30
        )
        shell.expect(PROMPT)
        opened.append(shell)
        return shell

    yield start
    for shell in opened:
        if shell.isalive():
            shell.sendeof()
            shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 0


def run(shell: pexpect.spawn, line: str) -> str:
    """Send a line, wait for the next prompt, and give what was printed in between."""
    shell.sendline(line)
    shell.expect(PROMPT)
    return str(shell.before).replace("\r\n", "\n")


def test_services_are_objects_with_typed_endpoint_methods(open_shell, shop):
    shell = open_shell()
    assert "shop = <service shop:" in str(shell.before)  # the banner lists the services
    assert "{'item': 'tea', 'quantity': 2, 'clerk': 'nobody'}" in run(
        shell, 'await shop.buy(item="tea", quantity=2)'
    )
    assert "{'item': 'jam'" in run(shell, 'await shop.buy({"item": "jam"})')
    assert "(*, item: str, quantity: int) -> 'Receipt'" in run(
        shell, "import inspect; inspect.signature(shop.buy)"
    )
    assert "Shop.Count(Count{to int64}) -> Tick{n int64}; a stream" in run(shell, "print(shop.count.__doc__)")
    shell.sendline("async for tick in shop.count(to=2): print(tick)")
    shell.sendline("")
    shell.expect(PROMPT)
    assert "{'n': 1}" in shell.before and "{'n': 2}" in shell.before


def test_errors_show_the_users_line_and_the_typed_error(open_shell, shop):
    shell = open_shell()
    out = run(shell, 'await shop.buy(item="tea", quantity=0)')
    assert "BadRequest" in out and "cannot buy 0 tea" in out
    assert 'File "<micro shell>", line 1' in out and '.py"' not in out  # no frames of the machinery
    assert "put await before the call" in run(shell, 'shop.buy(item="tea")')
    assert "has no endpoint 'nope'" in run(shell, "shop.nope")


def test_tab_completes_services_and_endpoints(open_shell, shop):
    shell = open_shell()
    shell.send("await sho\t")
    shell.expect("shop")
    shell.send(".b\t")
    shell.expect(r"buy\(")
    assert "'item': 'pie'" in run(shell, 'item="pie")')  # the line completed to await shop.buy(item="pie")


def test_history_is_kept_between_sessions(open_shell, shop, micro_env):
    first = open_shell()
    run(first, "answer = 6 * 7")
    first.sendeof()
    first.expect(pexpect.EOF)
    assert "answer = 6 * 7" in (Path(micro_env["MICRO_CLI_CACHE_DIR"]) / "shell_history").read_text()

    second = open_shell()
    second.send("\x1b[A")  # up arrow: the last line of the first session
    second.sendline("")
    second.expect(PROMPT)
    assert "42" in run(second, "answer")
