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
# Stepping out of the conversation (pause, start again, delete) needs a surer reading: a
# story that merely sounds like "I need to go" must not be taken as one.
CONTROL = frozenset({"stop", "start_again", "delete_my_data", "goodbye"})
MIN_CONTROL_CONFIDENCE = 0.8


def is_interruption(intent: str | None, confidence: float | None, text: str | None) -> bool:
    """True when the message is a side remark the current question should not swallow.

    Distress always interrupts. Other interrupting intents count only for short, confident
    messages, so a person's story is never lost to a misread intent.
    """
    if intent == "distress":
        return True
    if intent not in INTERRUPTIONS:
        return False
    needed = MIN_CONTROL_CONFIDENCE if intent in CONTROL else MIN_CONFIDENCE
    if confidence is not None and confidence < needed:
        return False
    return len((text or "").split()) <= MAX_INTERRUPTION_WORDS


# A "hello" this long after the assistant last spoke is someone coming back to the chat.
AWAY_AFTER_S = 10 * 60


def greeting_reply(events: list[dict]) -> str:
    """The reply to a "hello" mid-conversation: "welcome back" after a while away, a plain
    hello when the assistant has only just spoken (the question then comes again).

    ``events``: the tracker's events as the action server sees them, the greeting last.
    """
    greeting = None
    for event in reversed(events):
        if event.get("event") == "user":
            if greeting is not None:
                break  # the assistant said nothing in between
            greeting = event
        elif event.get("event") == "bot" and greeting is not None:
            said, spoke = greeting.get("timestamp"), event.get("timestamp")
            if said is not None and spoke is not None and said - spoke < AWAY_AFTER_S:
                return "utter_hello_here"
            break
    return "utter_welcome_back"
