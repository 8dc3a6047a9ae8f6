"""The codes FHIR resources carry: our Talking Points CodeSystem (every outcome id and its
group) and the HL7 codes we bind to (goal lifecycle and achievement, observation status).

Outcome ids are codes as they are (``seeing_people``). Group codes are prefixed ``group:``
because one group id is also an outcome id (``cared_for_quality_of_life``).
"""

from __future__ import annotations

from typing import Any

from bot.outcomes.framework import GROUPS, OUTCOMES, Outcome

CODESYSTEM_ID = "talking-points"
CODESYSTEM_VERSION = "1"
GROUP_PREFIX = "group:"

GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_ACHIEVEMENT = {
    "in-progress": "In Progress",
    "improving": "Improving",
    "worsening": "Worsening",
    "no-change": "No Change",
    "achieved": "Achieved",
    "sustaining": "Sustaining",
    "not-achieved": "Not Achieved",
    "no-progress": "No Progress",
    "not-attainable": "Not Attainable",
}
GOAL_LIFECYCLE = (
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
)
OBSERVATION_STATUS = (
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
)
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# The person's answers (first conversation, then reviews) on the goal-achievement codes.
ACHIEVEMENT_FOR = {
    "going_well": "achieved",
    "partly": "in-progress",
    "not_yet": "not-achieved",
    "fully_met": "achieved",
    "partly_met": "in-progress",
    "not_met": "not-achieved",
}

# Plain names for the groups (the framework's titles speak to the person: "What matters in
# your life"); a case-record system shows these.
GROUP_DISPLAY = {
    "quality_of_life": "Quality of life",
    "process": "Process",
    "change": "Change",
    "cared_for_quality_of_life": "Quality of life for the person cared for",
    "carer_quality_of_life": "Carer's quality of life",
    "managing_caring_role": "Managing the caring role",
    "carer_process": "Carer's experience of services (process)",
}


def group_code(group_id: str) -> str:
    """Our code for a group id (``group:quality_of_life``)."""
    return GROUP_PREFIX + group_id


def all_codes() -> dict[str, str]:
    """Every code in our CodeSystem with its display: the groups, then the outcome ids."""
    codes = {group_code(g): GROUP_DISPLAY[g] for g in GROUPS}
    codes.update({o.id: o.label for o in OUTCOMES.values()})
    return codes


def coding(system: str, code: str, display: str) -> dict[str, str]:
    """A Coding as JSON."""
    return {"system": system, "code": code, "display": display}


def outcome_category(outcome: Outcome, url: str) -> list[dict[str, Any]]:
    """Goal.category: the outcome id, then its group, each its own CodeableConcept."""
    return [
        {"coding": [coding(url, outcome.id, outcome.label)], "text": outcome.label},
        {
            "coding": [coding(url, group_code(outcome.group), GROUP_DISPLAY[outcome.group])],
            "text": GROUP_DISPLAY[outcome.group],
        },
    ]


def achievement(code: str) -> dict[str, Any]:
    """A goal-achievement CodeableConcept."""
    return {"coding": [coding(GOAL_ACHIEVEMENT_SYSTEM, code, GOAL_ACHIEVEMENT[code])]}


def codesystem_resource(url: str) -> dict[str, Any]:
    """The CodeSystem we publish with every export: groups, each holding its outcome ids."""
    concepts = []
    for group in GROUPS:
        children = [
            {"code": o.id, "display": o.label} for o in OUTCOMES.values() if o.group == group
        ]
        concepts.append(
            {"code": group_code(group), "display": GROUP_DISPLAY[group], "concept": children}
        )
    return {
        "resourceType": "CodeSystem",
        "id": CODESYSTEM_ID,
        "url": url,
        "version": CODESYSTEM_VERSION,
        "name": "TalkingPointsOutcomes",
        "title": "Talking Points personal outcomes",
        "status": "active",
        "experimental": False,
        "description": (
            "The Talking Points personal outcomes framework: outcomes for people who use "
            "services (quality of life, process, change) and for unpaid carers. Each outcome "
            "id sits under its group (codes starting 'group:'). The person's own words are "
            "the record; these codes are added for analysis, never in place of the words."
        ),
        "caseSensitive": True,
        "hierarchyMeaning": "grouped-by",
        "content": "complete",
        "count": len(GROUPS) + len(OUTCOMES),
        "concept": concepts,
    }
