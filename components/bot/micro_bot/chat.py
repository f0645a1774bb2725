"""What inputs and commands exchange: a message from a person, and where its replies go."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a message came from, so that its replies (and a watch's relays) go back there.

    :param input: the name of the input it came through (``xmpp``, ``slack``…).
    :param user: the sender, as the chat names them (a bare JID, a Slack user id).
    :param room: the group chat, or None for a direct message.
    :param thread: the thread the message is in, if the chat has threads and it is in one.
    :param message: the chat's id of the message itself (a thread can start from it).
    """

    input: str
    user: str
    room: str | None = None
    thread: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A line a person sent to the bot, with any mention of the bot already taken off."""

    text: str
    conversation: Conversation


__all__ = ["ChatMessage", "Conversation"]
