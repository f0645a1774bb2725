"""What keeps a bot in a busy channel safe: allowlists, rate limits, timeouts, output limits,
errors as one line. (Admin-only commands and confirmations: test_command_register, _deregister, _publish.)"""

from __future__ import annotations

import asyncio
import time

from micro_bot import Command, Conversation, Policy, Request
from micro_bot.commands import load_commands
from micro_bot.safety import RateLimit


class Sleep(Command):
    name = "sleep"
    pattern = r"sleep"
    usage = "sleep"
    description = "takes too long"

    async def run(self, request: Request) -> str:
        await asyncio.sleep(30)
        return "awake"


class Flood(Command):
    name = "flood"
    pattern = r"flood"
    usage = "flood"
    description = "answers far too much"

    async def run(self, request: Request) -> str:
        return "\n".join(f"line {n}" for n in range(1000))


class Broken(Command):
    name = "broken"
    pattern = r"broken"
    usage = "broken"
    description = "a command with a bug"

    async def run(self, request: Request) -> str:
        raise RuntimeError("the\nmissing key")


async def test_only_allowlisted_users_in_allowlisted_rooms_are_answered(micro_bot):
    chat = await micro_bot(policy=Policy.of(users=["alice", "memory:bob"], rooms=["#ops"]))
    assert await chat.say("ping", user="alice") == "pong"
    assert await chat.say("ping", user="bob") == "pong", "input:name entries allow a user on one input"
    assert await chat.say("ping", user="mallory") == "sorry, mallory is not on this bot's list of users"
    assert await chat.say("ping", user="alice", room="#ops") == "pong"
    assert (
        await chat.say("ping", user="alice", room="#random")
        == "sorry, this bot does not take commands in #random"
    )


async def test_each_user_has_a_rate_limit(micro_bot):
    chat = await micro_bot(rate=(3, 60.0))
    assert [await chat.say("ping") for _ in range(3)] == ["pong"] * 3
    assert (await chat.say("ping")).startswith("slow down: try again in ")
    assert await chat.say("ping", user="bob") == "pong", "another user has their own budget"


def test_a_rate_limit_forgets_what_left_its_window():
    limit = RateLimit(1, 0.05)
    who = Conversation("memory", "alice")
    assert limit.allow(who) == 0
    assert limit.allow(who) > 0
    time.sleep(0.06)
    assert limit.allow(who) == 0


async def test_a_command_that_takes_too_long_is_stopped(micro_bot):
    chat = await micro_bot(commands=[Sleep()], timeout=0.1)
    assert await chat.say("sleep") == "`sleep` took longer than 0.1s and was stopped"


async def test_long_output_is_cut_with_a_note_and_goes_into_a_thread(micro_bot):
    chat = await micro_bot(commands=[Flood()], max_output=200)
    reply = await chat.say("flood")
    assert reply.startswith("line 0\nline 1\n")
    assert reply.endswith("… (truncated: 8689 of 8889 characters not shown)")
    assert chat.sent[-1].thread


async def test_a_bug_reaches_the_user_as_one_line(micro_bot, caplog):
    chat = await micro_bot(commands=[Broken()])
    assert await chat.say("broken") == "error: RuntimeError: the missing key"
    assert "Traceback" in caplog.text, "the traceback goes to the log"


async def test_a_service_error_reaches_the_user_as_one_line(micro_bot, micro_service):
    class Failing:
        async def explode(self, request: dict) -> dict:
            raise ValueError("deep\ninside")

    chat = await micro_bot()
    await micro_service(Failing(), name="failing")
    reply = await chat.say("call failing Failing.Explode {}")
    assert reply.startswith("error: ") and "\n" not in reply and "Traceback" not in reply


async def test_a_pending_change_is_for_its_user_only(micro_bot):
    chat = await micro_bot(policy=Policy.of(admins=["root", "alice"]))
    await chat.say("deregister shop", user="root")
    assert await chat.say("yes", user="alice") == "unknown command `yes`; `help` lists what I can do"


def test_the_built_in_commands_load_in_name_order():
    names = [command.name for command in load_commands()]
    assert names == sorted(names) and "help" in names
