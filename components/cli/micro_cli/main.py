"""The ``micro`` group: global flags generated from the declared options, built-in commands,
and the ``micro.components`` entry points as subcommands loaded only when invoked."""

from __future__ import annotations

import importlib
from typing import Any

import click

from micro_cli.commands import events, new, plugins, registry, rpc, run
from micro_cli.declared import Component, Declared, load
from micro_cli.failures import PLUGIN_MISSING, Failure
from micro_cli.session import Session

BUILTINS: list[click.Command] = [
    registry.services,
    registry.describe,
    rpc.call,
    rpc.stream,
    events.publish,
    events.subscribe,
    rpc.health,
    rpc.stats,
    registry.register,
    registry.deregister,
    plugins.plugins,
    run.run,
    new.new,
]


def _broken(component: Component, reason: str) -> click.Command:
    """Stands in for a component that cannot be loaded: says why, instead of crashing ``micro``."""

    def fail() -> None:
        raise Failure(
            f"component {component.name!r} ({component.distribution}) failed to load: {reason}",
            PLUGIN_MISSING,
        )

    return click.Command(component.name, callback=fail, help=f"(broken: {reason})")


def _load(component: Component) -> click.Command:
    module, _, attribute = component.target.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in filter(None, attribute.split(".")):
            found = getattr(found, part)
    except Exception as exc:
        return _broken(component, f"{type(exc).__name__}: {exc}")
    if not isinstance(found, click.Command):
        return _broken(component, f"{component.target} is not a click command")
    return found


class MicroGroup(click.Group):
    """Built-in commands plus the installed components, each imported only when it runs."""

    def __init__(self, components: list[Component], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.components = {c.name: c for c in components if c.name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(self.components)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self.components:
            command = _load(self.components[name])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the components by distribution without importing them."""
        builtins = [
            (name, cmd.get_short_help_str(60)) for name, cmd in self.commands.items() if not cmd.hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(builtins)
        if self.components:
            rows = [(c.name, f"from {c.distribution} {c.version}".strip()) for c in self.components.values()]
            with formatter.section("Components"):
                formatter.write_dl(sorted(rows))


def _global_option(option: Declared) -> click.Option:
    default = f"; default: {option.default}" if option.default else ""
    return click.Option(
        [option.name, option.flag],
        default=None,
        metavar="TEXT",
        help=f"{option.help} [env: {option.env}{default}]",
    )


def build() -> MicroGroup:
    """The ``micro`` command with a flag for every declared option, core and plugin alike."""
    inventory = load()
    params: list[click.Parameter] = [
        click.Option(["--debug"], is_flag=True, help="show tracebacks instead of one-line errors")
    ]
    taken = {"--debug", "--help", "-h"}
    params += [_global_option(o) for o in inventory.options if o.flag not in taken]

    def setup(ctx: click.Context, debug: bool, **flags: str | None) -> None:
        ctx.obj = Session({name: text for name, text in flags.items() if text is not None}, debug=debug)

    group = MicroGroup(
        inventory.components,
        name="micro",
        commands=BUILTINS,
        params=params,
        callback=click.pass_context(setup),
        help="Find, call and run micro services. Every backend is a plugin, chosen by flag or MICRO_* "
        "variable.",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    )
    return group


def main() -> None:
    """The console script ``micro``."""
    build().main(prog_name="micro")
