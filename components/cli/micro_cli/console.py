"""The prompt of ``micro shell``: Python's console with top-level ``await``, run on a loop thread.

The client lives on an event loop in a daemon thread; each line that awaits is handed
to it while the prompt waits (Ctrl-C cancels it), as in ``python -m asyncio``. Errors
show the user's frames only, and Tab completion and history come from readline.
"""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import contextlib
import inspect
import re
import sys
import threading
import traceback
import types
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop in a daemon thread; the prompt hands it coroutines and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="micro-shell-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            with contextlib.suppress(concurrent.futures.CancelledError, Exception):
                future.result(timeout=5)
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class AsyncConsole(code.InteractiveConsole):
    """Python's console, compiling with top-level ``await`` and running awaiting lines on the loop."""

    def __init__(self, namespace: dict[str, Any], loop: LoopThread) -> None:
        super().__init__(namespace, filename="<micro shell>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self._loop = loop

    def runcode(self, compiled: types.CodeType) -> None:
        try:
            result = types.FunctionType(compiled, self.locals)()
            if inspect.iscoroutine(result):
                self._loop.run(result)
        except SystemExit:
            raise
        except BaseException as exc:
            self.write("".join(traceback.format_exception(_without_internals(exc))))


#: Frames from these packages are machinery (the shell, the kernel, plugins' wrappers), not the user's.
_INTERNAL_FILES = re.compile(r"[/\\](micro_\w+|asyncio|concurrent)[/\\]")


def _without_internals(exc: BaseException) -> BaseException:
    """The exception with only the user's frames (the typed line, their own functions) left:
    ``NotFound: shop has no endpoint ...`` rather than a page of the client's insides."""
    kept: list[types.TracebackType] = []
    frame = exc.__traceback__
    while frame is not None:
        if not _INTERNAL_FILES.search(frame.tb_frame.f_code.co_filename):
            kept.append(frame)
        frame = frame.tb_next
    following = None
    for tb in reversed(kept):
        following = types.TracebackType(following, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    return exc.with_traceback(following)


def _display(value: object) -> None:
    """The prompt's display hook: a coroutine shown unawaited is almost always a missing ``await``."""
    if inspect.iscoroutine(value):
        value.close()
        print("(a coroutine, not run: put await before the call)")
        return
    sys.__displayhook__(value)


def enable_readline(namespace: dict[str, Any], history: str) -> None:
    """Tab completion of names and attributes, and a history kept across sessions."""
    try:
        import readline
        import rlcompleter
    except ImportError:  # a Python built without readline: a plain prompt
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")
    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)


def save_history(history: str) -> None:
    with contextlib.suppress(ImportError, OSError):
        import readline

        readline.write_history_file(history)


def interact(namespace: dict[str, Any], loop: LoopThread, banner: str, history: str) -> None:
    """Run the prompt until Ctrl-D; the history is saved whatever happens."""
    enable_readline(namespace, history)
    sys.displayhook = _display
    try:
        AsyncConsole(namespace, loop).interact(banner=banner, exitmsg="")
    finally:
        sys.displayhook = sys.__displayhook__
        save_history(history)
