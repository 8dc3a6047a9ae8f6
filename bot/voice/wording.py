"""What the assistant says about a voice note, shared by the Telegram bot and the web chat.

These replies are not Rasa responses: the transcript is confirmed before anything reaches
Rasa, so the confirmation lives in the channel, in these words.
"""

from __future__ import annotations

HEARD_PROMPT = "I heard: \u201c{text}\u201d \u2014 is that right?"
YES = "Yes"
TYPE_IT = "No, I'll type it"
TYPE_IT_REPLY = "That's fine. Please type it in your own words, whenever you're ready."
TOO_LONG = (
    "Thank you for the voice note. It's a bit long for me: I can listen to up to two "
    "minutes at a time. Could you send it in shorter parts, or type it?"
)
UNREADABLE = (
    "Sorry, I couldn't make that out. Could you try again somewhere a bit quieter, "
    "or type it instead?"
)
CONFIRMED = "\u2714 Yes"
EXPIRED = "That voice note has already been dealt with. Please send it again or type it."


def heard_prompt(text: str) -> str:
    """The confirmation question quoting what was heard."""
    return HEARD_PROMPT.format(text=text)
