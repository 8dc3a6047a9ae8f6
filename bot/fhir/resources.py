"""One person's record as FHIR R4 resources (JSON-ready dicts, validated by
:mod:`bot.fhir.validation`).

- **Patient** ``{person id}``: our identifier only (we store no names).
- **RelatedPerson** ``carer-{person id}``: the same person speaking as an unpaid carer; it
  expresses carers' outcomes. We do not store who they care for, so its ``patient`` is their
  own record (relationship ``ONESELF``, text "Unpaid carer").
- **Goal** per statement-outcome pair: the words verbatim, outcome and group codes,
  ``active`` / ``cancelled``, the latest status the person gave, practitioners' notes.
- **Observation** per dated review entry, focused on the Goals it reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.outcomes.framework import CARER, OUTCOMES, Outcome
from bot.settings import get_settings
from bot.storage.models import ReviewEntry

from . import FhirExportError
from .codesystem import (
    ACHIEVEMENT_FOR,
    DATA_ABSENT_SYSTEM,
    ROLE_CODE_SYSTEM,
    achievement,
    coding,
    outcome_category,
)
from .records import GoalKey, GoalRow, PersonRecord

PRACTITIONER_REVIEW_TEXT = {
    "fully_met": "fully met",
    "partly_met": "partly met",
    "not_met": "not met",
}


@dataclass(frozen=True)
class FhirConfig:
    """Where identifiers, codes and resources live (see ``bot.settings``)."""

    identifier_system: str
    codesystem_url: str
    base_url: str

    @classmethod
    def from_settings(cls, base_url: str | None = None) -> FhirConfig:
        settings = get_settings()
        return cls(
            settings.fhir_identifier_system,
            settings.fhir_codesystem_url,
            (base_url or settings.fhir_base_url).rstrip("/"),
        )

    def full_url(self, resource: dict[str, Any]) -> str:
        """A Bundle entry's ``fullUrl``."""
        return f"{self.base_url}/{resource['resourceType']}/{resource['id']}"


def _iso(value: datetime) -> str:
    return value.isoformat()


def _outcome(outcome_id: str) -> Outcome:
    try:
        return OUTCOMES[outcome_id]
    except KeyError:
        raise FhirExportError(
            f"outcome id {outcome_id!r} is not in the Talking Points CodeSystem; "
            "nothing was exported"
        ) from None


def patient_ref(person_id: int) -> str:
    return f"Patient/{person_id}"


def carer_id(person_id: int) -> str:
    return f"carer-{person_id}"


def speaker_ref(person_id: int, outcome_id: str) -> str:
    """Who expressed an outcome: the carer for carers' outcomes, otherwise the person."""
    if _outcome(outcome_id).outcome_set == CARER:
        return f"RelatedPerson/{carer_id(person_id)}"
    return patient_ref(person_id)


def patient(person_id: int, cfg: FhirConfig) -> dict[str, Any]:
    """The person: our identifier, no name (none is stored)."""
    return {
        "resourceType": "Patient",
        "id": str(person_id),
        "identifier": [{"system": cfg.identifier_system, "value": str(person_id)}],
        "active": True,
    }


def related_person(person_id: int, cfg: FhirConfig) -> dict[str, Any]:
    """The person speaking as an unpaid carer."""
    return {
        "resourceType": "RelatedPerson",
        "id": carer_id(person_id),
        "identifier": [{"system": cfg.identifier_system, "value": str(person_id)}],
        "active": True,
        "patient": {"reference": patient_ref(person_id)},
        "relationship": [
            {"coding": [coding(ROLE_CODE_SYSTEM, "ONESELF", "self")], "text": "Unpaid carer"}
        ],
    }


def review_focus(record: PersonRecord) -> dict[int, list[GoalRow]]:
    """``{review entry id: goals it reviews}``: the goals of that outcome in the reviewed
    conversation that are still active (all of them if none is)."""
    by_outcome: dict[tuple[int, str], list[GoalRow]] = {}
    for goal in record.goals:
        by_outcome.setdefault((goal.conversation_id, goal.outcome_id), []).append(goal)
    focus = {}
    for entry in record.entries:
        goals = by_outcome.get((entry.conversation_id, entry.outcome_id), [])
        focus[entry.id] = [g for g in goals if g.lifecycle == "active"] or goals
    return focus


def _latest_status(
    record: PersonRecord, goal: GoalRow, entries: list[ReviewEntry]
) -> tuple[str, datetime] | None:
    """The latest of the first conversation's status and the reviews of this goal."""
    answers = []
    status = record.statuses.get((goal.conversation_id, goal.outcome_id))
    if status is not None:
        answers.append((status[1], status[0]))
    answers.extend((e.created_at, e.status) for e in entries)
    answers = [(when, ACHIEVEMENT_FOR[s]) for when, s in answers if s in ACHIEVEMENT_FOR]
    if not answers:
        return None
    when, code = max(answers, key=lambda a: a[0])
    return code, when


def _goal_notes(record: PersonRecord, goal: GoalRow) -> list[dict[str, Any]]:
    notes = []
    for review in record.reviews:
        if review.outcome_id != goal.outcome_id:
            continue
        text = f"Practitioner's review: {PRACTITIONER_REVIEW_TEXT[review.status]}."
        if review.comment:
            text += f"\n{review.comment}"
        notes.append(
            {"authorString": review.author_name, "time": _iso(review.reviewed_at), "text": text}
        )
    for note in record.notes:
        notes.append(
            {"authorString": note.author_name, "time": _iso(note.created_at), "text": note.body}
        )
    return sorted(notes, key=lambda n: n["time"])


def goal(
    record: PersonRecord, row: GoalRow, entries: list[ReviewEntry], cfg: FhirConfig
) -> dict[str, Any]:
    """One statement-outcome pair as a Goal; ``entries`` are the reviews focused on it."""
    outcome = _outcome(row.outcome_id)
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": row.id,
        "lifecycleStatus": row.lifecycle,
    }
    latest = _latest_status(record, row, entries)
    if latest is not None:
        resource["achievementStatus"] = achievement(latest[0])
    resource["category"] = outcome_category(outcome, cfg.codesystem_url)
    resource["description"] = {"text": row.text}
    resource["subject"] = {"reference": patient_ref(record.person_id)}
    resource["startDate"] = row.started_at.date().isoformat()
    if latest is not None:
        resource["statusDate"] = latest[1].date().isoformat()
    resource["expressedBy"] = {"reference": speaker_ref(record.person_id, row.outcome_id)}
    notes = _goal_notes(record, row)
    if notes:
        resource["note"] = notes
    return resource


def observation(
    record: PersonRecord, entry: ReviewEntry, focus: list[GoalRow], cfg: FhirConfig
) -> dict[str, Any]:
    """One dated review entry: how it is going, in the person's own comments."""
    outcome = _outcome(entry.outcome_id)
    speaker = {"reference": speaker_ref(record.person_id, entry.outcome_id)}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"review-{entry.id}",
        "status": "final",
        "code": {
            "coding": [coding(cfg.codesystem_url, outcome.id, outcome.label)],
            "text": f"Review of outcome: {outcome.label}",
        },
        "subject": {"reference": patient_ref(record.person_id)},
        "focus": [{"reference": f"Goal/{g.id}"} for g in focus],
        "effectiveDateTime": _iso(entry.created_at),
        "performer": [speaker],
    }
    code = ACHIEVEMENT_FOR.get(entry.status)
    if code is not None:
        resource["valueCodeableConcept"] = achievement(code)
    else:  # the person chose to skip this one
        resource["dataAbsentReason"] = {
            "coding": [coding(DATA_ABSENT_SYSTEM, "asked-declined", "Asked But Declined")]
        }
    notes = []
    if entry.helped:
        notes.append(f"What has helped: {entry.helped}")
    if entry.not_helped:
        notes.append(f"What has not helped: {entry.not_helped}")
    if entry.still_matters is not None:
        notes.append(f"Still matters: {'yes' if entry.still_matters else 'no'}")
    if notes:
        resource["note"] = [{"authorReference": speaker, "text": text} for text in notes]
    return resource


def person_resources(record: PersonRecord, cfg: FhirConfig) -> list[dict[str, Any]]:
    """The person's Patient (and RelatedPerson when a carer's outcome is included), their
    included Goals, and the Observations on those Goals."""
    included: set[GoalKey] | None = record.included
    goals = [g for g in record.goals if included is None or g.key in included]
    wanted = {g.key for g in goals}
    focus = review_focus(record)
    on_goal: dict[GoalKey, list[ReviewEntry]] = {}
    observations = []
    for entry in record.entries:
        for g in focus[entry.id]:
            on_goal.setdefault(g.key, []).append(entry)
        shown = [g for g in focus[entry.id] if g.key in wanted]
        if shown:
            observations.append(observation(record, entry, shown, cfg))
    goal_resources = [goal(record, g, on_goal.get(g.key, []), cfg) for g in goals]
    resources = [patient(record.person_id, cfg)]
    speakers = {r["expressedBy"]["reference"] for r in goal_resources}
    if f"RelatedPerson/{carer_id(record.person_id)}" in speakers:
        resources.append(related_person(record.person_id, cfg))
    return resources + goal_resources + observations
