"""Validate resources before they leave: ``fhir.resources`` (R4 structure and datatypes)
plus the code bindings it does not check (Goal lifecycle and achievement, Observation
status and value, and every code of our own CodeSystem).

Anything invalid raises :class:`FhirValidationError` naming the resource and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources import FHIRAbstractModel, get_fhir_model_class
from pydantic import ValidationError

from bot.outcomes.framework import OUTCOMES

from . import FhirExportError
from .codesystem import (
    GOAL_ACHIEVEMENT,
    GOAL_ACHIEVEMENT_SYSTEM,
    GOAL_LIFECYCLE,
    GROUP_PREFIX,
    OBSERVATION_STATUS,
    all_codes,
    group_code,
)

BUNDLE_TYPES = ("collection", "searchset")


class FhirValidationError(FhirExportError):
    """A resource that is not valid FHIR R4 or uses a code outside its binding."""


def _name(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    """Every Coding-like dict (``system`` and ``code``) anywhere in ``value``."""
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def _check_achievement(name: str, field: str, concept: dict[str, Any] | None) -> None:
    if concept is None:
        return
    codes = [c for c in concept.get("coding", []) if c.get("system") == GOAL_ACHIEVEMENT_SYSTEM]
    if not codes:
        raise FhirValidationError(f"{name}: {field} has no {GOAL_ACHIEVEMENT_SYSTEM} code")
    for c in codes:
        if c.get("code") not in GOAL_ACHIEVEMENT:
            raise FhirValidationError(
                f"{name}: {field} code {c.get('code')!r} is not a goal-achievement code "
                f"(one of {', '.join(GOAL_ACHIEVEMENT)})"
            )


def _check_our_codes(name: str, resource: dict[str, Any], url: str) -> None:
    known = all_codes()
    for c in _codings(resource):
        if c.get("system") == url and c.get("code") not in known:
            raise FhirValidationError(
                f"{name}: code {c.get('code')!r} is not in the Talking Points CodeSystem ({url})"
            )


def _check_goal(name: str, resource: dict[str, Any], url: str) -> None:
    status = resource.get("lifecycleStatus")
    if status not in GOAL_LIFECYCLE:
        raise FhirValidationError(
            f"{name}: lifecycleStatus {status!r} is not a goal lifecycle status "
            f"(one of {', '.join(GOAL_LIFECYCLE)})"
        )
    _check_achievement(name, "achievementStatus", resource.get("achievementStatus"))
    ours = [
        c["code"]
        for concept in resource.get("category", [])
        for c in concept.get("coding", [])
        if c.get("system") == url
    ]
    outcomes = [c for c in ours if not c.startswith(GROUP_PREFIX)]
    if len(outcomes) != 1:
        raise FhirValidationError(f"{name}: category needs exactly one outcome code, got {ours}")
    outcome = OUTCOMES[outcomes[0]]
    if group_code(outcome.group) not in ours:
        raise FhirValidationError(
            f"{name}: category needs the group of {outcome.id!r} ({group_code(outcome.group)})"
        )


def _check_observation(name: str, resource: dict[str, Any]) -> None:
    status = resource.get("status")
    if status not in OBSERVATION_STATUS:
        raise FhirValidationError(
            f"{name}: status {status!r} is not an observation status "
            f"(one of {', '.join(OBSERVATION_STATUS)})"
        )
    _check_achievement(name, "valueCodeableConcept", resource.get("valueCodeableConcept"))


def validate(resource: dict[str, Any], codesystem_url: str) -> FHIRAbstractModel:
    """Parse ``resource`` with ``fhir.resources`` and check its codes; returns the model."""
    name = _name(resource)
    try:
        model_class = get_fhir_model_class(resource.get("resourceType", ""))
    except KeyError:
        raise FhirValidationError(f"{name}: unknown resource type") from None
    try:
        model = model_class.parse_obj(resource)
    except ValidationError as exc:
        raise FhirValidationError(f"{name} is not valid FHIR R4: {exc}") from None
    _check_our_codes(name, resource, codesystem_url)
    kind = resource["resourceType"]
    if kind == "Goal":
        _check_goal(name, resource, codesystem_url)
    elif kind == "Observation":
        _check_observation(name, resource)
    elif kind == "Bundle" and resource.get("type") not in BUNDLE_TYPES:
        raise FhirValidationError(f"{name}: Bundle type {resource.get('type')!r} is not allowed")
    return model
