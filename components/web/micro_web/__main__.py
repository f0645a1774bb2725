"""``python -m micro_web MODULE:APP [--name NAME] [--version V]``: serve an app as a web service.

What ``micro run MODULE:APP`` runs: the app is imported by its dotted path (as uvicorn
and gunicorn name theirs), and every setting comes from the ``MICRO_*`` variables that
``micro run`` makes of its global flags.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from micro_web.webservice import WebService


def load(target: str) -> Any:
    """The object ``module.path:attribute.path`` names; ``ValueError`` saying what is wrong."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{target!r} is not MODULE:APP (e.g. shop.main:app)")
    sys.path.insert(0, ".")  # as uvicorn does: apps in the current directory import
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"{module_name} has no attribute {attribute!r}") from None
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m micro_web", description=__doc__.splitlines()[0])
    parser.add_argument("app", metavar="MODULE:APP", help="the ASGI or aiohttp app, e.g. shop.main:app")
    parser.add_argument("--name", help="the service's name without namespace (default: the module's)")
    parser.add_argument("--version", default="latest", help="the service's version")
    args = parser.parse_args(argv)
    try:
        app = load(args.app)
    except (ValueError, ImportError) as exc:
        parser.error(str(exc))
    name = args.name or args.app.partition(":")[0].rpartition(".")[2]
    WebService(name, app, args.version).run()


if __name__ == "__main__":
    main()
