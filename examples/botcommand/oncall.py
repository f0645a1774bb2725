"""A bot command written as a service: ``oncall [team]`` answers who is on call.

Run it beside a bot (``python oncall.py``): while it is registered, ``help`` lists
``oncall`` and the bot passes ``oncall payments`` to it; stop it and the command goes.
"""

from __future__ import annotations

from micro_bot import CommandFailed, CommandHandler, command_service

ROTA = {"platform": "Ada", "payments": "Grace", "search": "Linus"}


class OnCall(CommandHandler):
    usage = "oncall [team]"
    description = "who is on call, for one team or all"

    async def run(self, args: list[str]) -> str:
        if not args:
            return "\n".join(f"{team}: {person}" for team, person in sorted(ROTA.items()))
        team = args[0].lower()
        if team not in ROTA:
            raise CommandFailed(f"no team {team!r}; teams: {', '.join(sorted(ROTA))}")
        return f"on call for {team}: {ROTA[team]}"


if __name__ == "__main__":
    command_service("oncall", OnCall()).run()
