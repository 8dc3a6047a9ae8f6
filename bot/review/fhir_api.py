"""The read-only FHIR R4 API for case-record systems, under ``/fhir``.

- ``GET /fhir/metadata``: the CapabilityStatement;
- ``GET /fhir/CodeSystem/talking-points``: our outcome codes;
- ``GET /fhir/Patient/{id}``, ``GET /fhir/RelatedPerson/carer-{id}``;
- ``GET /fhir/Goal?patient={id}``, ``GET /fhir/Goal/{id}``;
- ``GET /fhir/Observation?focus={goal id}``.

Every request needs ``Authorization: Bearer <token>`` (``python -m bot api-token add NAME``);
without a live token the answer is 401. Every read (and every refusal) is written to the
audit log as ``api:NAME``, like a practitioner's view. Answers are ``application/fhir+json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, request
from sqlalchemy import select

from bot.fhir import FhirExportError
from bot.fhir.bundle import searchset
from bot.fhir.codesystem import CODESYSTEM_ID, codesystem_resource
from bot.fhir.records import load_records, parse_goal_id
from bot.fhir.resources import FhirConfig, carer_id, person_resources
from bot.fhir.tokens import find_by_token, verify_token
from bot.fhir.validation import validate
from bot.storage import repository as repo
from bot.storage.models import Conversation, Person, Statement, utcnow

from .common import get_db

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

FHIR_JSON = "application/fhir+json; charset=utf-8"


def _respond(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status, content_type=FHIR_JSON)
    response.headers.update(headers)
    return response


def _outcome(status: int, code: str, text: str, **headers: str) -> Response:
    """An OperationOutcome with one error."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return _respond(body, status, **headers)


def _config() -> FhirConfig:
    return FhirConfig.from_settings(base_url=request.url_root.rstrip("/") + bp.url_prefix)


def _audit(action: str, person_id: int | None = None, detail: str | None = None) -> None:
    db = get_db()
    repo.record_audit(db, None, action, person_id=person_id, detail=detail, name=g.api_name)
    db.commit()


@bp.before_request
def _authenticate() -> Response | None:
    """Only a live API token gets in; refusals are audited too."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    db = get_db()
    row = verify_token(db, token) if scheme.lower() == "bearer" else None
    if row is None:
        known = find_by_token(db, token) if token else None
        g.api_name = f"api:{known.name}" if known is not None else "api:-"
        _audit("fhir_refused", detail=f"{request.method} {request.path}")
        return _outcome(
            401,
            "login",
            "A live API token is needed: Authorization: Bearer <token>.",
            **{"WWW-Authenticate": 'Bearer realm="fhir"'},
        )
    g.api_name = f"api:{row.name}"
    db.commit()  # last used
    return None


@bp.errorhandler(FhirExportError)
def _invalid(exc: FhirExportError) -> Response:
    return _outcome(500, "exception", f"Refused to send an invalid resource: {exc}")


def _person_id(value: str | None) -> int | None:
    value = (value or "").removeprefix("Patient/")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _resources(person_id: int, cfg: FhirConfig) -> list[dict[str, Any]]:
    """The person's resources, validated."""
    record = next(load_records(get_db(), [person_id]))
    resources = person_resources(record, cfg)
    for resource in resources:
        validate(resource, cfg.codesystem_url)
    return resources


def _exists(person_id: int | None) -> bool:
    return person_id is not None and get_db().get(Person, person_id) is not None


@bp.route("/metadata")
def metadata() -> Response:
    """What this server can do."""
    cfg = _config()
    searchable = {"Goal": ("patient", "read"), "Observation": ("focus", None)}
    resources = []
    for kind in ("Patient", "RelatedPerson", "Goal", "Observation", "CodeSystem"):
        entry: dict[str, Any] = {"type": kind, "interaction": []}
        param, read = searchable.get(kind, (None, "read"))
        if read:
            entry["interaction"].append({"code": "read"})
        if param:
            entry["interaction"].append({"code": "search-type"})
            entry["searchParam"] = [{"name": param, "type": "reference"}]
        resources.append(entry)
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": utcnow().isoformat(),
        "kind": "instance",
        "software": {"name": "Talking Points outcomes assistant"},
        "implementation": {
            "description": "Personal outcomes in the person's own words (read only)",
            "url": cfg.base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Authorization: Bearer <token>, from "
                    "'python -m bot api-token add NAME'. Every read is audited."
                },
                "resource": resources,
            }
        ],
    }
    validate(statement, cfg.codesystem_url)
    _audit("fhir_read_metadata")
    return _respond(statement)


@bp.route("/CodeSystem/<resource_id>")
def codesystem(resource_id: str) -> Response:
    """Our Talking Points CodeSystem."""
    _audit("fhir_read_codesystem", detail=resource_id[:100])
    if resource_id != CODESYSTEM_ID:
        return _outcome(404, "not-found", f"No CodeSystem {resource_id!r}.")
    cfg = _config()
    resource = codesystem_resource(cfg.codesystem_url)
    validate(resource, cfg.codesystem_url)
    return _respond(resource)


def _read(kind: str, resource_id: str, person_id: int | None) -> Response:
    """One resource of the person's (audited)."""
    found = _exists(person_id)
    _audit(f"fhir_read_{kind.lower()}", person_id if found else None, resource_id[:100])
    if found:
        for resource in _resources(person_id, _config()):
            if resource["resourceType"] == kind and resource["id"] == resource_id:
                return _respond(resource)
    return _outcome(404, "not-found", f"No {kind} {resource_id!r}.")


@bp.route("/Patient/<resource_id>")
def patient(resource_id: str) -> Response:
    """A person: our identifier only."""
    return _read("Patient", resource_id, _person_id(resource_id))


@bp.route("/RelatedPerson/<resource_id>")
def related_person(resource_id: str) -> Response:
    """A person speaking as an unpaid carer (``carer-{id}``)."""
    person_id = _person_id(resource_id.removeprefix("carer-"))
    if person_id is not None and resource_id != carer_id(person_id):
        person_id = None
    return _read("RelatedPerson", resource_id, person_id)


def _goal_owner(goal_id: str) -> int | None:
    """The person whose statement a Goal id names, if any."""
    key = parse_goal_id(goal_id)
    if key is None:
        return None
    query = (
        select(Conversation.person_id)
        .join(Statement, Statement.conversation_id == Conversation.id)
        .where(Statement.id == key[0])
    )
    return get_db().execute(query).scalar_one_or_none()


@bp.route("/Goal/<resource_id>")
def goal(resource_id: str) -> Response:
    """One Goal."""
    return _read("Goal", resource_id, _goal_owner(resource_id))


def _search(kind: str, person_id: int | None, keep: Callable[[dict[str, Any]], bool]) -> Response:
    """A searchset of the person's resources of ``kind`` that ``keep`` accepts (audited)."""
    cfg = _config()
    found = _exists(person_id)
    detail = request.query_string.decode("utf-8", "replace")[:200]
    _audit(f"fhir_search_{kind.lower()}", person_id if found else None, detail)
    matches = [
        r
        for r in (_resources(person_id, cfg) if found else [])
        if r["resourceType"] == kind and keep(r)
    ]
    return _respond(searchset(matches, cfg, request.url))


@bp.route("/Goal")
def goals() -> Response:
    """``?patient={id}``: the person's Goals (active and cancelled)."""
    value = request.args.get("patient")
    if _person_id(value) is None:
        return _outcome(400, "invalid", "Search Goals by patient: /fhir/Goal?patient={id}.")
    return _search("Goal", _person_id(value), lambda r: True)


@bp.route("/Observation")
def observations() -> Response:
    """``?focus={goal id}``: the reviews of one Goal, oldest first."""
    value = (request.args.get("focus") or "").removeprefix("Goal/")
    if parse_goal_id(value) is None:
        return _outcome(
            400, "invalid", "Search Observations by goal: /fhir/Observation?focus={goal id}."
        )
    wanted = {"reference": f"Goal/{value}"}
    return _search("Observation", _goal_owner(value), lambda r: wanted in r["focus"])
