"""``micro options``: every backend flag, grouped by the part of micro it configures.

``micro --help`` shows only the flags that choose a backend; this is where the rest
live (TLS files, timeouts, limits, each plugin's settings), each with the kind of value
it takes, its ``MICRO_*`` variable and its default.
"""

from __future__ import annotations

from itertools import groupby

import click

from micro_cli.declared import load
from micro_cli.failures import BAD_INPUT, Failure
from micro_cli.output import output_option, resolve, to_json


@click.command()
@click.argument("kind", required=False)
@output_option
def options(kind: str | None, output: str | None) -> None:
    """List every global option, grouped by kind: flag, value, variable, default.

    \b
    micro options            every option
    micro options registry   the registry's, the plugins' included
    """
    declared = sorted(load().options, key=lambda o: (o.kind, o.name))
    kinds = sorted({o.kind for o in declared})
    if kind is not None:
        if kind not in kinds:
            raise Failure(f"no options of kind {kind!r}; the kinds are: {', '.join(kinds)}", BAD_INPUT)
        declared = [o for o in declared if o.kind == kind]
    if resolve(output) == "json":
        for option in declared:
            click.echo(
                to_json(
                    {
                        "kind": option.kind,
                        "flag": option.flag,
                        "value": option.metavar,
                        "env": option.env,
                        "default": option.default,
                        "help": option.help,
                    }
                )
            )
        return
    formatter = click.HelpFormatter(max_width=110)
    for group, members in groupby(declared, key=lambda o: o.kind):
        with formatter.section(f"{group.capitalize()} options"):
            formatter.write_dl(
                [
                    (
                        f"{o.flag} {o.metavar}",
                        f"{o.help} [env: {o.env}" + (f"; default: {o.default}]" if o.default else "]"),
                    )
                    for o in members
                ]
            )
    click.echo(formatter.getvalue().rstrip())
