"""Plain-language phrasing: quoting people's words and naming outcomes when reflecting back."""

from __future__ import annotations

import re

from bot.outcomes.framework import OUTCOMES

MAX_QUOTE_WORDS = 30


def short_quote(text: str, max_words: int = MAX_QUOTE_WORDS) -> str:
    """The person's words, trimmed to ``max_words`` with an ellipsis, whitespace tidied."""
    words = re.sub(r"\s+", " ", text).strip().split(" ")
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]).rstrip(",;:") + "\u2026"


def quote_before_full_stop(text: str, max_words: int = MAX_QUOTE_WORDS) -> str:
    """:func:`short_quote` without its own closing full stop, for replies that put one
    after the closing quotation mark (“my garden”. rather than “my garden.”.)."""
    return short_quote(text, max_words).rstrip(". ")


def phrase(outcome_id: str) -> str:
    """How an outcome is named when talking to the person."""
    return OUTCOMES[outcome_id].phrase


def join_phrases(outcome_ids: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    phrases = [phrase(o) for o in outcome_ids]
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
