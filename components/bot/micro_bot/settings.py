"""The bot's settings, and how flags, ``MICRO_*`` variables and defaults become one :class:`Options`.

Each bot setting is named ``bot_<setting>`` (an input's ``bot_<input>_<setting>``):
``micro bot`` offers it as ``--<setting>`` and reads ``MICRO_BOT_<SETTING>``. The
kernel's settings (registry, transport, broker…) come from ``micro``'s global flags,
so the bot finds services exactly as ``micro services`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from micro_bot.handler import NAMESPACE
from micro_core import Option, Options, Plugins


def split_list(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``: how list settings are written."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def rate(text: str) -> tuple[int, float]:
    """``"20/60"`` → at most 20 commands in 60 seconds."""
    count, _, period = text.partition("/")
    try:
        parsed = int(count), float(period or "60")
    except ValueError:
        raise ValueError(f"not COUNT/SECONDS: {text!r}") from None
    if parsed[0] < 1 or not parsed[1] > 0:
        raise ValueError(f"COUNT and SECONDS must be positive: {text!r}")
    return parsed


#: The bot's own settings.
BOT_OPTIONS: tuple[Option, ...] = (
    Option("bot_inputs", (), "inputs to run, comma-separated (e.g. xmpp,slack)", split_list),
    Option("bot_allow_users", (), "users who may use the bot, comma-separated (empty: everyone)", split_list),
    Option(
        "bot_allow_rooms", (), "rooms the bot takes commands in, comma-separated (empty: all)", split_list
    ),
    Option("bot_admins", (), "users who may run admin commands (register, deregister)", split_list),
    Option("bot_rate", (20, 60.0), "commands a user may run per period, as COUNT/SECONDS", rate),
    Option("bot_command_timeout", 10.0, "seconds a command may take before it is stopped", float),
    Option("bot_max_output", 3000, "longest reply in characters; longer ones are cut with a note", int),
    Option("bot_confirm_ttl", 60.0, "seconds a change waits for its user's yes", float),
    Option("bot_watch_rate", 1.0, "messages a second a watch relays into a room at most", float),
    Option("bot_namespace", NAMESPACE, "services named NAMESPACE.<command> provide commands", str),
)


def flag(option: Option) -> str:
    """``bot_xmpp_jid`` → ``--xmpp-jid``: bot settings drop their prefix on ``micro bot``'s command line."""
    return "--" + option.name.removeprefix("bot_").replace("_", "-")


def resolve(declared: Iterable[Option], flags: Mapping[str, str], plugins: Plugins | None = None) -> Options:
    """The kernel's options (declared by ``plugins``) plus ``declared``, with ``flags`` (option name →
    text as typed) parsed by each option's own parser; ``ValueError`` names a bad flag."""
    options = Options()
    for option in declared:
        options.add(option.name, option.default, option.help, option.parse)
    (plugins or Plugins()).add_options(options)
    by_name = {option.name: option for option in options}
    for name, text in flags.items():
        found = by_name.get(name)
        if found is None:
            continue  # a global flag of a plugin that is gone since micro cached its flags
        try:
            options.flags[name] = found.parse(text)
        except ValueError as exc:
            shown = flag(found) if name.startswith("bot_") else found.flag
            raise ValueError(f"{shown} {text!r}: {exc}") from None
    return options


__all__ = ["BOT_OPTIONS", "flag", "rate", "resolve", "split_list"]
