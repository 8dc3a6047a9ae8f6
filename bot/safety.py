"""Recognising messages that read as crisis or danger, as a backstop to the NLU model.

A person in distress needs a kind answer and a pointer to help, not more questions.
The trained ``distress`` intent catches most such messages; these patterns make sure the
plainest ones are never missed because a model was unsure. They are deliberately narrow:
ordinary sadness and worry belong in the outcomes conversation.
"""

from __future__ import annotations

import re

_PATTERNS = [
    r"\b(kill|hang|drown|hurt|harm|cut) (my ?self|myself)\b",
    r"\bsuicid(e|al)\b",
    r"\b(end|ending|take|taking) (it all|my (own )?life)\b",
    r"\bwant(ed)? to die\b",
    r"\bbetter off dead\b",
    r"\b(no|nae|isn'?t a|is no) point (in )?(living|going on|being alive)\b",
    r"\bcan'?t go on( any ?more| like this)?\b",
    r"\b(took|taken|swallowed) (too many|all (of )?my|a load of) (tablets|pills)\b",
    r"\boverdos(e|ed)\b",
    r"\b(he|she|they|someone|somebody|husband|wife|partner|boyfriend|girlfriend|son|daughter"
    r"|carer|dad|mum|mam|brother|sister)('s| is| has| keeps?)? (hit|hitting|beat|beating|hurt"
    r"|hurting|kick|kicking) me\b",
    r"\b(hits|hitting|beats|beating|kicks|kicking) me\b",
    r"\b(hit|beat) me again\b",
    r"\bnot safe (at home|here|tonight)\b",
    r"\bscared (to go home|for my life)\b",
    r"\b(fallen|fell) and can'?t get up\b",
]
_CRISIS = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def looks_like_crisis(text: str | None) -> bool:
    """True when ``text`` plainly reads as a crisis, danger or emergency."""
    if not text:
        return False
    normalised = re.sub(r"[\u2018\u2019`]", "'", text)
    normalised = re.sub(r"\s+", " ", normalised)
    return _CRISIS.search(normalised) is not None
