"""Who is talking: a stable (channel, user id) pair from Rasa's sender id."""

from __future__ import annotations


def channel_and_user(sender_id: str, input_channel: str | None) -> tuple[str, str]:
    """Split ``telegram:12345`` into (``telegram``, ``12345``).

    Our own channels (the Telegram bridge, the web chat, the terminal) send through Rasa's
    REST channel with a ``channel:id`` sender id, so the channel is known whichever Rasa
    channel carried the message. A sender id without a prefix keeps Rasa's channel name.
    """
    prefix, sep, rest = sender_id.partition(":")
    if sep and prefix and rest:
        return prefix, rest
    return input_channel or "unknown", sender_id
