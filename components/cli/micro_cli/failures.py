"""Exit codes, and the one-line message each kind of failure becomes.

Every exception a command lets escape is turned into a :class:`Failure` here, so the
user sees one line on stderr and a documented exit code (the table is in README.md);
``micro --debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click

OK = 0
#: The service answered with an error, or a node failed its health check.
REMOTE_ERROR = 1
#: Bad input: usage, malformed JSON, an unreadable file, an invalid option value.
BAD_INPUT = 2
#: No such service or endpoint.
NOT_FOUND = 3
#: The registry, broker or service could not be reached in time.
UNREACHABLE = 4
#: The selected plugin is not installed or failed to import.
PLUGIN_MISSING = 5
#: The registry itself cannot be reached (an agent that is down, a directory that does not
#: exist): not an empty list, and not to be confused with a service that is unreachable.
REGISTRY_UNREACHABLE = 6
#: Interrupted by SIGINT (Ctrl-C) where that is not the normal end of the command.
INTERRUPTED = 130


class Failure(click.ClickException):
    """A failure with its exit code; shown as one ``micro: error: …`` line."""

    def __init__(self, message: str, exit_code: int = REMOTE_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class, sets it per instance

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"micro: error: {self.format_message()}", err=True)


class RemoteFailure(Failure):
    """An error from a service: one readable line on a terminal, the error itself as one line
    of JSON when stderr is piped (for scripts, as Go Micro's CLI prints it)."""

    def __init__(self, error: dict[str, Any], exit_code: int) -> None:
        super().__init__(json.dumps(error), exit_code)
        self.error = error

    def show(self, file: IO[Any] | None = None) -> None:
        if sys.stderr.isatty():
            click.echo(f"micro: error: {readable(self.error)}", err=True)
        else:
            click.echo(self.format_message(), err=True)


def readable(error: dict[str, Any]) -> str:
    """``greeter: 404 Not Found: greeter has no endpoint Greeter.Missing``."""
    where = f"{error['id']}: " if error.get("id") else ""
    status = " ".join(str(part) for part in (error.get("code"), error.get("status")) if part)
    return f"{where}{status}: {error.get('detail', '')}".rstrip(": ")


def _code_of(status: int) -> int:
    if status == 404:
        return NOT_FOUND
    if status in (408, 502, 503, 504):
        return UNREACHABLE
    return REMOTE_ERROR


def translate(exc: BaseException, registry: str = "") -> click.ClickException:
    """The :class:`Failure` for an exception a command raised; ``registry`` describes the one tried."""
    if isinstance(exc, click.ClickException):
        return exc
    from micro_core import DriverNotFound, errors
    from micro_core.registry import RegistryUnavailable

    if isinstance(exc, DriverNotFound):
        return Failure(str(exc), PLUGIN_MISSING)
    if isinstance(exc, ImportError):
        return Failure(f"a plugin failed to import: {exc}", PLUGIN_MISSING)
    if isinstance(exc, errors.MicroError):
        return RemoteFailure(exc.to_dict(), _code_of(exc.code))
    if isinstance(exc, RegistryUnavailable):
        return Failure(f"cannot reach the {registry or 'registry'}: {exc}", REGISTRY_UNREACHABLE)
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return Failure(f"unreachable: {exc or type(exc).__name__}", UNREACHABLE)
    if isinstance(exc, ValueError):
        return Failure(str(exc), BAD_INPUT)
    return Failure(f"{type(exc).__name__}: {exc}", REMOTE_ERROR)
