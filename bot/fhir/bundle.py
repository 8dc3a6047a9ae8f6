"""FHIR Bundles: ``collection`` for exports (one person, a filtered set, or everyone) and
``searchset`` for the API. Every resource is validated before anything is written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any, TextIO

from sqlalchemy.orm import Session

from bot.storage.models import Person, utcnow
from bot.storage.repository import StatementFilter

from . import FhirExportError
from .codesystem import codesystem_resource
from .records import all_person_ids, load_records, matching_goals
from .resources import FhirConfig, person_resources
from .validation import validate


def _only_person(filters: StatementFilter) -> bool:
    return all(
        getattr(filters, f) is None for f in filters.__dataclass_fields__ if f != "person_id"
    )


def export_resources(
    s: Session, filters: StatementFilter | None, cfg: FhirConfig
) -> list[dict[str, Any]]:
    """The CodeSystem, then each chosen person's resources, validated.

    No filters: everyone. Only ``person_id``: that person (``FhirExportError`` if unknown).
    Other filters: the statement-outcome pairs matching them, and their people.
    """
    only = None
    if filters is None or filters.is_empty:
        people = all_person_ids(s)
    elif _only_person(filters):
        if s.get(Person, filters.person_id) is None:
            raise FhirExportError(f"there is no person with id {filters.person_id}")
        people = [filters.person_id]
    else:
        only = matching_goals(s, filters)
        people = sorted(only)
    resources = [codesystem_resource(cfg.codesystem_url)]
    for record in load_records(s, people, only):
        resources.extend(person_resources(record, cfg))
    for resource in resources:
        validate(resource, cfg.codesystem_url)
    return resources


def _bundle(kind: str, entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    shell = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": utcnow().isoformat()},
        "type": kind,
        **extra,
    }
    validate(shell, "")
    return {**shell, "entry": entries}


def collection(resources: Iterable[dict[str, Any]], cfg: FhirConfig) -> dict[str, Any]:
    """A ``collection`` Bundle of already validated resources."""
    entries = [{"fullUrl": cfg.full_url(r), "resource": r} for r in resources]
    return _bundle("collection", entries, timestamp=utcnow().isoformat())


def searchset(resources: list[dict[str, Any]], cfg: FhirConfig, self_url: str) -> dict[str, Any]:
    """A ``searchset`` Bundle (the API's search answer) of already validated resources."""
    entries = [
        {"fullUrl": cfg.full_url(r), "resource": r, "search": {"mode": "match"}} for r in resources
    ]
    return _bundle(
        "searchset", entries, total=len(entries), link=[{"relation": "self", "url": self_url}]
    )


def dumps(resource: dict[str, Any]) -> str:
    """JSON text with people's words as they are (non-ASCII kept, everything escaped)."""
    return json.dumps(resource, ensure_ascii=False, indent=2)


def write_fhir(
    s: Session, out: TextIO, filters: StatementFilter | None = None, cfg: FhirConfig | None = None
) -> None:
    """Write a ``collection`` Bundle as JSON; nothing is written if a resource is invalid."""
    cfg = cfg or FhirConfig.from_settings()
    text = dumps(collection(export_resources(s, filters, cfg), cfg))
    out.write(text)
    out.write("\n")
