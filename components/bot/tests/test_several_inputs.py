"""One bot on several inputs at once (``--inputs xmpp,slack``): a real Prosody and the Slack stand-in."""

from __future__ import annotations

import asyncio

from .test_slack import APP_TOKEN, BOT_TOKEN, SlackStandIn
from .test_xmpp import MICRO, XMPPUser


async def test_one_bot_answers_on_xmpp_and_slack_at_once(prosody, micro_process):
    bot = prosody.register("bot", "bot-pw")
    alice = prosody.register("alice", "alice-pw")
    slack = SlackStandIn()
    await slack.start()
    try:
        env = {
            "MICRO_BOT_INPUTS": "xmpp,slack",
            "MICRO_BOT_XMPP_JID": bot,
            "MICRO_BOT_XMPP_PASSWORD": "bot-pw",
            "MICRO_BOT_XMPP_SERVER": f"127.0.0.1:{prosody.port}",
            "MICRO_BOT_XMPP_PLAINTEXT": "yes",
            "MICRO_BOT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "MICRO_BOT_SLACK_APP_TOKEN": APP_TOKEN,
            "MICRO_BOT_SLACK_API_URL": f"http://127.0.0.1:{slack.port}/api/",
        }
        await asyncio.to_thread(micro_process, MICRO, "bot", env=env, ready="slack: connected")

        user = await XMPPUser(alice, "alice-pw", prosody.port).connect()
        try:
            assert await user.ask("ping", to=bot) == "pong"
        finally:
            await user.close()
        await slack.say("echo on slack", user="UALICE")
        assert (await slack.heard()).text == "on slack"
    finally:
        await slack.close()
