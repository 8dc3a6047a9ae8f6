"""Telling a side remark (help, stop, a joke) apart from an answer to the current question."""

from __future__ import annotations

# Intents answered briefly (or acted on) before the conversation carries on.
INTERRUPTIONS = frozenset(
    {
        "help",
        "stop",
        "resume",
        "restart",
        "greet",
        "goodbye",
        "show_my_data",
        "delete_my_data",
        "chitchat_bot",
        "chitchat_how_are_you",
        "thanks",
        "out_of_scope",
        "distress",
    }
)
# Longer messages are answers, whatever the intent model thinks: a story that starts
# "Hello! Well, a good day for me..." must never be mistaken for a greeting and dropped.
MAX_INTERRUPTION_WORDS = 12
MIN_CONFIDENCE = 0.5


def is_interruption(intent: str | None, confidence: float | None, text: str | None) -> bool:
    """True when the message is a side remark the current question should not swallow.

    Distress always interrupts. Other interrupting intents count only for short, confident
    messages, so a person's story is never lost to a misread intent.
    """
    if intent == "distress":
        return True
    if intent not in INTERRUPTIONS:
        return False
    if confidence is not None and confidence < MIN_CONFIDENCE:
        return False
    return len((text or "").split()) <= MAX_INTERRUPTION_WORDS
