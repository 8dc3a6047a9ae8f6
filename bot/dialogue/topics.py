"""What to ask next: follow-ups towards what the person has not talked about yet.

The conversation follows the person: after each answer it asks about one area it has not
heard yet (who matters, how support is given, what they would like to change; carers'
areas for carers), never the same area twice, and then simply asks if there is anything
else.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.outcomes.framework import CARER, OUTCOMES, outcome_set_for_role


@dataclass(frozen=True)
class Topic:
    """An area of life to ask about, the outcomes that count as having heard it, its prompt."""

    name: str
    outcome_ids: frozenset[str]
    response: str


def _ids_in(*groups: str) -> frozenset[str]:
    return frozenset(o.id for o in OUTCOMES.values() if o.group in groups)


PERSON_TOPICS = (
    Topic("people", frozenset({"seeing_people"}), "utter_followup_people"),
    Topic("support", _ids_in("process"), "utter_followup_support"),
    Topic("change", _ids_in("change"), "utter_followup_change"),
)
CARER_TOPICS = (
    Topic("cared_for", _ids_in("cared_for_quality_of_life"), "utter_followup_cared_for"),
    Topic("own_life", _ids_in("carer_quality_of_life"), "utter_followup_own_life"),
    Topic("caring_role", _ids_in("managing_caring_role"), "utter_followup_caring_role"),
    Topic("services", _ids_in("carer_process"), "utter_followup_services"),
)
# Not ``utter_ask_story``: Rasa would say a response of that name itself after every turn of
# the story form, and the form's validation asks instead (``actions.base``).
OPENING = "utter_opening"
ANYTHING_ELSE = "utter_ask_anything_else"
# Prompts under the names conversations saved before a rename may still hold in ``last_prompt``.
RENAMED_PROMPTS = {"utter_ask_story": OPENING}


def current_prompt(prompt: str) -> str:
    """The response to repeat for a ``last_prompt`` value, under its current name."""
    return RENAMED_PROMPTS.get(prompt, prompt)


def topics_for_role(role: str | None) -> tuple[Topic, ...]:
    """The follow-up areas for a role, in the order they are asked."""
    return CARER_TOPICS if outcome_set_for_role(role) == CARER else PERSON_TOPICS


def next_topic(
    role: str | None, heard: set[str] | frozenset[str], asked: list[str] | tuple[str, ...]
) -> Topic | None:
    """The first area neither heard nor asked about yet, or None when all are covered."""
    for topic in topics_for_role(role):
        if topic.name not in asked and not (topic.outcome_ids & set(heard)):
            return topic
    return None
