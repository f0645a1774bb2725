"""Named settings that pick and tune the backends, resolved in one documented order.

Every option has a name (``registry_address``), a command-line flag
(``--registry-address``) and an environment variable (``MICRO_REGISTRY_ADDRESS``).
A value is taken from, in order of precedence:

1. a flag given on the command line (``Options.flags``),
2. the environment (``MICRO_*``),
3. code (``Service(registry="memory")``, ``Options(code=…)``),
4. the option's default.

The operator's word (flags, environment) beats the author's (code), so a service
written for the embedded defaults runs against Consul without a code change.
Plugins declare their own options through the ``micro_add_options`` hook.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "MICRO_"


@dataclass(frozen=True)
class Option:
    """A setting with its default and a line of help; ``parse`` turns text into a value."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Options:
    """The declared options of one application instance and where each value comes from."""

    def __init__(
        self,
        code: Mapping[str, Any] | None = None,
        flags: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._declared: dict[str, Option] = {}
        self.code: dict[str, Any] = {k: v for k, v in (code or {}).items() if v is not None}
        self.flags: dict[str, Any] = {k: v for k, v in (flags or {}).items() if v is not None}
        self.environ = os.environ if environ is None else environ

    def add(self, name: str, default: Any, help: str, parse: Callable[[str], Any] = str) -> None:
        """Declare an option; declaring the same name twice keeps the first."""
        self._declared.setdefault(name, Option(name, default, help, parse))

    def __iter__(self) -> Iterator[Option]:
        return iter(self._declared.values())

    def __contains__(self, name: object) -> bool:
        return name in self._declared

    def __getitem__(self, name: str) -> Any:
        value, _ = self.resolve(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._declared or name in self.code or name in self.flags else default

    def resolve(self, name: str) -> tuple[Any, str]:
        """The value of ``name`` and where it came from: flag, environment, code or default."""
        option = self._declared.get(name)
        if name in self.flags:
            return self.flags[name], "flag"
        env = ENV_PREFIX + name.upper()
        if env in self.environ:
            text = self.environ[env]
            try:
                return (option.parse(text) if option else text), "environment"
            except ValueError as exc:
                raise ValueError(f"{env}={text!r}: {exc}") from None
        if name in self.code:
            return self.code[name], "code"
        if option is None:
            raise KeyError(f"unknown option {name!r}")
        return option.default, "default"
