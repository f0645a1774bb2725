"""The ``micro`` group: global flags generated from the declared options, built-in commands,
and the ``micro.components`` entry points as subcommands loaded only when invoked.

``micro --help`` leads with the commands, by what they are for, and a few examples; of
the ~50 backend flags it shows only those that choose a backend (``micro options``
lists every one, by kind, with the kind of value each takes).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from micro_cli.commands import completion, events, new, options, plugins, registry, rpc, run, shell
from micro_cli.declared import Component, Declared, load
from micro_cli.failures import PLUGIN_MISSING, Failure
from micro_cli.session import Session

#: The built-in commands, grouped as ``micro --help`` shows them.
SECTIONS: list[tuple[str, list[click.Command]]] = [
    ("Discover", [registry.services, registry.describe]),
    ("Call", [rpc.call, rpc.stream, shell.shell]),
    ("Events", [events.publish, events.subscribe]),
    ("Operate", [rpc.health, rpc.stats, registry.register, registry.deregister]),
    ("Build and run", [run.run, new.new]),
    ("Set up", [plugins.plugins, options.options, completion.completion]),
]
BUILTINS: list[click.Command] = [command for _, commands in SECTIONS for command in commands]

EXAMPLES = [
    "micro services",
    "micro describe greeter",
    'micro call greeter Greeter.Hello \'{"name": "Ada"}\'',
    'micro shell                        # then: await greeter.hello(name="Ada")',
    "micro --registry consul services   # micro options: every backend flag, by kind",
]

#: The global flags ``micro --help`` shows: the ones that choose a backend and where it is.
SHOWN = {"registry", "registry_address", "broker", "broker_address", "transport", "selector"}


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

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_commands(ctx, formatter)
        with formatter.section("Examples"):
            for example in EXAMPLES:
                formatter.write(f"{'':>{formatter.current_indent}}{example}\n")
        self.format_options(ctx, formatter)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The shown global flags only (click's group would list the commands again here)."""
        click.Command.format_options(self, ctx, formatter)
        hidden = sum(1 for param in self.params if getattr(param, "hidden", False))
        formatter.write_paragraph()
        formatter.write_text(
            f"{hidden} more backend options (TLS, timeouts, limits, each plugin's settings): "
            "micro options [KIND]. Every option is also a MICRO_* variable; flag > variable > default."
        )

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The built-ins by section, then the components by distribution, without importing them."""
        for title, commands in SECTIONS:
            with formatter.section(title):
                formatter.write_dl(
                    [(c.name or "", c.get_short_help_str(70)) for c in commands if not c.hidden]
                )
        if self.components:
            rows = [(c.name, f"from {c.distribution} {c.version}".strip()) for c in self.components.values()]
            with formatter.section("Components"):
                formatter.write_dl(sorted(rows))


def installed_versions() -> list[tuple[str, str]]:
    """Every installed micro distribution (``micro-*``, or one with a ``micro.*`` entry point)
    and its version, the kernel first."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.startswith("micro-") or any(ep.group.startswith("micro.") for ep in dist.entry_points):
            found.setdefault(name, dist.version)
    return sorted(found.items(), key=lambda item: (item[0] != "micro-kernel", item[0]))


def _print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        for name, version in installed_versions():
            click.echo(f"{name} {version}")
        ctx.exit()


def _global_option(option: Declared) -> click.Option:
    default = f"; default: {option.default}" if option.default else ""
    return click.Option(
        [option.name, option.flag],
        default=None,
        metavar=option.metavar,
        hidden=option.name not in SHOWN,
        help=f"{option.help} [env: {option.env}{default}]",
    )


def build() -> MicroGroup:
    """The ``micro`` command with a flag for every declared option, core and plugin alike."""
    inventory = load()
    params: list[click.Parameter] = [
        click.Option(["--debug"], is_flag=True, help="show tracebacks instead of one-line errors"),
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_versions,
            help="print every installed micro distribution with its version",
        ),
    ]
    taken = {"--debug", "--version", "--help", "-h"}
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
        options_metavar="[OPTIONS]",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    )
    return group


def main() -> None:
    """The console script ``micro``."""
    build().main(prog_name="micro")
