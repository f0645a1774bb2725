"""The command suite through ``micro_bot.testing``'s in-memory input: how a command author tests."""


async def test_the_command_suite_in_memory(micro_bot, examples, command_suite):
    chat = await micro_bot()
    await command_suite(chat.say)
