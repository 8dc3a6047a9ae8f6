"""What the Telegram and web chat channels do with a person's typing before Rasa sees it."""

from __future__ import annotations

# A button from an earlier reply (or a conversation that has moved on) was pressed.
BUTTON_EXPIRED = "That button has expired. Please type your answer instead."


def as_words(text: str) -> str:
    """What a person typed, never read as an intent payload (Rasa treats ``/x`` as one)."""
    return text.lstrip("/") if text.startswith("/") else text
