"""``micro run``: run a service with the global flags as its settings, reloading on change if asked."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

from micro_cli.declared import load
from micro_cli.failures import BAD_INPUT, Failure
from micro_cli.session import Session


def _web_app(target: str, args: tuple[str, ...]) -> list[str]:
    """The command that serves ``module:app`` as a web service, through the installed web
    component's runner (found by its entry point, never imported here)."""
    if not any(component.name == "web" for component in load().components):
        raise Failure(f"cannot run {target}: serving an app needs `pip install micro-web`", BAD_INPUT)
    return [sys.executable, "-m", "micro_web", target, *args]


def _argv(target: str, args: tuple[str, ...]) -> tuple[list[str], Path]:
    """The command that runs ``target`` (a file, a directory with ``__main__.py``, a module,
    or ``module:app``, an ASGI or aiohttp app) and the directory to watch for changes."""
    path = Path(target)
    if ":" in target and not path.exists():
        return _web_app(target, args), Path.cwd()
    if path.is_dir() and (path / "__init__.py").is_file():
        target = path.resolve().name  # a package in the current directory: run it as a module
    elif path.is_file() or (path.is_dir() and (path / "__main__.py").is_file()):
        return [sys.executable, str(path), *args], (path if path.is_dir() else path.parent).resolve()
    elif path.exists() or target.endswith(".py") or not target.replace(".", "").replace("_", "").isalnum():
        raise Failure(
            f"cannot run {target}: not a Python file, a directory with __main__.py, or a module", BAD_INPUT
        )
    return [sys.executable, "-m", target, *args], Path.cwd()


def _environment(session: Session) -> dict[str, str]:
    """The global flags given to ``micro`` become the service's ``MICRO_*`` variables."""
    env_names = {option.name: option.env for option in load().options}
    return {
        **os.environ,
        **{env_names[name]: text for name, text in session.flags.items() if name in env_names},
    }


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", metavar="PATH_OR_MODULE")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--reload", is_flag=True, help="restart the service when a file under its directory changes")
@click.pass_obj
def run(session: Session, target: str, args: tuple[str, ...], reload: bool) -> None:
    """Run a service: a .py file, a directory with __main__.py, a module (python -m), or a
    web app as MODULE:APP (an ASGI or aiohttp app served as micro.web.<name>; --name, --version).

    The global flags (--registry, --transport, ...) reach the service as MICRO_*
    variables. With --reload, the service restarts whenever a file under its
    directory changes (for development).
    """
    argv, watched = _argv(target, args)
    env = _environment(session)
    if not reload:
        os.execve(argv[0], argv, env)  # the service takes over this process: same PID, same signals
    import watchfiles

    os.environ.update(env)
    watchfiles.run_process(
        watched,
        target=shlex.join(argv),
        target_type="command",
        callback=lambda changes: click.echo(
            f"micro: {len(changes)} change(s), restarting {target}", err=True
        ),
    )
