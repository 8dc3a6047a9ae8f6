"""Who the person is, from a button press or their own words."""

from __future__ import annotations

import re

from bot.outcomes.framework import CARER, PA_EMPLOYER, PERSON

ROLE_BY_INTENT = {"role_person": PERSON, "role_carer": CARER, "role_pa_employer": PA_EMPLOYER}

_WORDS = [
    (PA_EMPLOYER, r"\b(pas?|personal assistants?|employ\w*|employer|direct payments?)\b"),
    (CARER, r"\b(carer|caring|care for|look(ing)? after|unpaid)\b"),
    (PERSON, r"\b(me|myself|mine|i get|i use|i receive|i have (carers|support|help))\b"),
]


def role_from_intent(intent: str | None) -> str | None:
    """The role a role button or a clearly classified answer means."""
    return ROLE_BY_INTENT.get(intent or "")


def role_from_words(text: str) -> str | None:
    """The role the person's own words point to, or None if they don't say."""
    lowered = text.lower()
    for role, pattern in _WORDS:
        if re.search(pattern, lowered):
            return role
    return None
