"""The Talking Points outcome ids, their groups and plain-language names.

Every part of the project (training data, storage, exports, evaluation) uses these ids;
the id fixes the group. See ``README.md`` for the source of the framework.
"""

from __future__ import annotations

from dataclasses import dataclass

PERSON = "person"
CARER = "carer"
PA_EMPLOYER = "pa_employer"
ROLES = (PERSON, CARER, PA_EMPLOYER)


@dataclass(frozen=True)
class Outcome:
    """One outcome id with its group, its framework label and a phrase for reflecting back."""

    id: str
    group: str
    label: str
    phrase: str

    @property
    def outcome_set(self) -> str:
        """``carer`` for carers' own ids, ``person`` otherwise."""
        return CARER if self.group in CARER_GROUPS else PERSON


@dataclass(frozen=True)
class Group:
    """A heading the summary groups outcomes under."""

    id: str
    title: str


PERSON_GROUPS = {
    "quality_of_life": Group("quality_of_life", "What matters in your life"),
    "process": Group("process", "How you want to be supported"),
    "change": Group("change", "What you would like to change"),
}
CARER_GROUPS = {
    "cared_for_quality_of_life": Group(
        "cared_for_quality_of_life", "Life for the person you care for"
    ),
    "carer_quality_of_life": Group("carer_quality_of_life", "Your own life and wellbeing"),
    "managing_caring_role": Group("managing_caring_role", "Managing the caring role"),
    "carer_process": Group("carer_process", "How services work with you"),
}
GROUPS = {**PERSON_GROUPS, **CARER_GROUPS}

_OUTCOMES = [
    # People who use services
    Outcome("feeling_safe", "quality_of_life", "Feeling safe", "feeling safe"),
    Outcome("having_things_to_do", "quality_of_life", "Having things to do", "having things to do"),
    Outcome("seeing_people", "quality_of_life", "Seeing people", "seeing people who matter to you"),
    Outcome(
        "staying_well",
        "quality_of_life",
        "Staying / being as well as you can",
        "staying as well as you can",
    ),
    Outcome(
        "living_as_you_want",
        "quality_of_life",
        "Living where you want / as you want",
        "living where and how you want",
    ),
    Outcome(
        "dealing_with_stigma",
        "quality_of_life",
        "Dealing with stigma / discrimination",
        "being treated fairly by others",
    ),
    Outcome("listened_to", "process", "Listened to", "being listened to"),
    Outcome("having_a_say", "process", "Having a say", "having a say in your support"),
    Outcome(
        "treated_with_respect", "process", "Treated with respect", "being treated with respect"
    ),
    Outcome(
        "treated_as_individual",
        "process",
        "Treated as an individual",
        "being treated as the person you are",
    ),
    Outcome("responded_to", "process", "Being responded to", "getting a response when you need it"),
    Outcome("reliability", "process", "Reliability", "support you can rely on"),
    Outcome(
        "improved_confidence",
        "change",
        "Improved confidence / morale",
        "feeling more confident",
    ),
    Outcome("improved_skills", "change", "Improved skills", "learning and doing more for yourself"),
    Outcome("improved_mobility", "change", "Improved mobility", "getting about more easily"),
    Outcome("reduced_symptoms", "change", "Reduced symptoms", "easing pain or symptoms"),
    # Unpaid carers
    Outcome(
        "cared_for_quality_of_life",
        "cared_for_quality_of_life",
        "Quality of life for the person cared for",
        "a good life for the person you care for",
    ),
    Outcome(
        "carer_health_wellbeing",
        "carer_quality_of_life",
        "Maintaining the carer's own health and wellbeing",
        "looking after your own health",
    ),
    Outcome(
        "carer_life_of_own",
        "carer_quality_of_life",
        "A life of their own alongside caring",
        "a life of your own alongside caring",
    ),
    Outcome(
        "carer_relationship",
        "carer_quality_of_life",
        "A positive relationship with the person cared for",
        "your relationship with the person you care for",
    ),
    Outcome(
        "carer_financial",
        "carer_quality_of_life",
        "Freedom from financial hardship",
        "money worries",
    ),
    Outcome(
        "carer_choice",
        "managing_caring_role",
        "Choice in caring, including its limits",
        "having a choice about how much you care",
    ),
    Outcome(
        "carer_informed_skilled",
        "managing_caring_role",
        "Feeling informed, skilled, equipped",
        "knowing what you need to know for caring",
    ),
    Outcome(
        "carer_satisfaction",
        "managing_caring_role",
        "Satisfaction in caring",
        "finding something good in caring",
    ),
    Outcome(
        "carer_partnership",
        "managing_caring_role",
        "Partnership with services",
        "working together with services",
    ),
    Outcome(
        "carer_valued_respected",
        "carer_process",
        "Valued, respected, expertise recognised",
        "being valued for what you know",
    ),
    Outcome(
        "carer_having_a_say",
        "carer_process",
        "Having a say in services",
        "having a say in services",
    ),
    Outcome(
        "carer_flexible_responsive",
        "carer_process",
        "Flexible and responsive to changing needs",
        "support that changes when needs change",
    ),
    Outcome(
        "carer_practitioner_relationship",
        "carer_process",
        "Positive relationship with practitioners",
        "a good relationship with the people who support you",
    ),
    Outcome(
        "carer_accessible_support",
        "carer_process",
        "Accessible, available support",
        "support that is there when you need it",
    ),
]

OUTCOMES: dict[str, Outcome] = {o.id: o for o in _OUTCOMES}
OUTCOME_IDS: tuple[str, ...] = tuple(OUTCOMES)


def outcome_set_for_role(role: str | None) -> str:
    """Carers talk about the carer outcomes; people and PA employers about the person outcomes."""
    return CARER if role == CARER else PERSON


def ids_for_role(role: str | None) -> tuple[str, ...]:
    """Outcome ids a person in ``role`` is asked about."""
    wanted = outcome_set_for_role(role)
    return tuple(o.id for o in _OUTCOMES if o.outcome_set == wanted)


def groups_for_role(role: str | None) -> dict[str, Group]:
    """Summary headings, in order, for ``role``."""
    return CARER_GROUPS if outcome_set_for_role(role) == CARER else PERSON_GROUPS


def group_of(outcome_id: str) -> str:
    """The group an outcome id belongs to; ``KeyError`` for an unknown id."""
    return OUTCOMES[outcome_id].group
