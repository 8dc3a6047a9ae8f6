"""FHIR R4 export: a round trip through ``fhir.resources``, filters, refused invalid codes,
and people's words kept exactly (``python -m bot export --format fhir``)."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.codesystem import CodeSystem
from sqlalchemy import select

from bot.export import export
from bot.fhir import FhirExportError
from bot.fhir.codesystem import (
    ACHIEVEMENT_FOR,
    GOAL_ACHIEVEMENT_SYSTEM,
    GROUP_DISPLAY,
    all_codes,
    group_code,
)
from bot.fhir.records import goal_id, parse_goal_id
from bot.fhir.validation import FhirValidationError, validate
from bot.outcomes.framework import CARER, GROUPS, OUTCOME_IDS, OUTCOMES
from bot.settings import get_settings
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import (
    Conversation,
    OutcomeTag,
    ReviewEntry,
    Statement,
)
from bot.storage.repository import StatementFilter
from tests.fhir_helpers import AWKWARD_HELPED, AWKWARD_WORDS, JUN, build_fhir_sample

PROJECT = Path(__file__).resolve().parent.parent
CS_URL = get_settings().fhir_codesystem_url


@pytest.fixture
def sample(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        ids = build_fhir_sample(s)
    return db_sessionmaker, ids


def _bundle(sm, filters: StatementFilter | None = None) -> tuple[dict, Bundle]:
    """Export with ``filters``; the JSON and every resource parsed back by fhir.resources."""
    from bot.fhir.bundle import write_fhir

    out = io.StringIO()
    with sm.begin() as s:
        write_fhir(s, out, filters)
    data = json.loads(out.getvalue())
    return data, Bundle.parse_raw(out.getvalue())


def _of(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.resource_type == kind]


def _references(value) -> list[str]:
    """Every ``reference`` string anywhere in ``value``."""
    if isinstance(value, dict):
        found = [value["reference"]] if "reference" in value else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _codes(concept) -> set[str]:
    return {c.code for c in concept.coding if c.system == CS_URL}


def test_round_trip_every_statement_and_review(sample):
    sm, ids = sample
    data, bundle = _bundle(sm)
    assert bundle.type == "collection"
    goals = _of(bundle, "Goal")
    observations = _of(bundle, "Observation")

    with sm.begin() as s:
        pairs = s.execute(
            select(
                Conversation.person_id,
                Conversation.started_at,
                Statement.id,
                Statement.text,
                OutcomeTag.outcome_id,
                OutcomeTag.state,
            )
            .join(Statement, Statement.conversation_id == Conversation.id)
            .join(OutcomeTag, OutcomeTag.statement_id == Statement.id)
        ).all()
        entries = s.execute(select(ReviewEntry)).scalars().all()
        goal_of_entry = {}
        for e in entries:
            live = [
                p
                for p in pairs
                if p.outcome_id == e.outcome_id
                and p.state == "confirmed"
                and s.get(Statement, p.id).conversation_id == e.conversation_id
            ]
            assert len(live) == 1
            goal_of_entry[e.id] = (goal_id(live[0].id, e.outcome_id), e)

    confirmed_or_removed = [p for p in pairs if p.state != "suggested"]
    assert any(p.state == "suggested" for p in pairs)  # Fay's unconfirmed conversation
    assert {p.state for p in confirmed_or_removed} == {"confirmed", "removed"}
    assert len(goals) == len(confirmed_or_removed)
    for p in confirmed_or_removed:
        outcome = OUTCOMES[p.outcome_id]
        found = [
            g
            for g in goals
            if g.description.text == p.text and p.outcome_id in _codes(g.category[0])
        ]
        assert len(found) == 1, (p.text, p.outcome_id)
        g = found[0]
        assert g.id == goal_id(p.id, p.outcome_id)
        assert g.lifecycleStatus == ("active" if p.state == "confirmed" else "cancelled")
        assert _codes(g.category[1]) == {group_code(outcome.group)}
        assert g.subject.reference == f"Patient/{p.person_id}"
        speaker = (
            f"RelatedPerson/carer-{p.person_id}"
            if outcome.outcome_set == CARER
            else f"Patient/{p.person_id}"
        )
        assert g.expressedBy.reference == speaker
        assert g.startDate == p.started_at.date()
    # Suggested-only words are not Goals.
    assert not [g for g in goals if g.description.text == "I might want to move nearer town"]

    assert len(observations) == len(entries) == 4
    for entry_id, (gid, entry) in goal_of_entry.items():
        (obs,) = [o for o in observations if o.id == f"review-{entry_id}"]
        assert [f.reference for f in obs.focus] == [f"Goal/{gid}"]
        assert obs.effectiveDateTime == entry.created_at
        assert obs.status == "final"
        if entry.status == "skipped":
            assert obs.valueCodeableConcept is None
            assert obs.dataAbsentReason.coding[0].code == "asked-declined"
        else:
            assert obs.valueCodeableConcept.coding[0].system == GOAL_ACHIEVEMENT_SYSTEM
            assert obs.valueCodeableConcept.coding[0].code == ACHIEVEMENT_FOR[entry.status]

    # Ana's first "seeing people": partly at first, then two reviews; the latest is kept.
    (ana_goal,) = [g for g in goals if g.description.text == "I love seeing my grandchildren"]
    assert ana_goal.achievementStatus.coding[0].code == "achieved"
    assert ana_goal.statusDate == JUN.date()
    history = [o for o in observations if o.focus[0].reference == f"Goal/{ana_goal.id}"]
    assert [o.valueCodeableConcept.coding[0].code for o in history] == ["in-progress", "achieved"]
    # Practitioner's note and review are notes; the words are untouched.
    notes = [n.text for n in ana_goal.note]
    assert 'Ana asked for "Tuesday" visits <please>' in notes
    assert "Practitioner's review: fully met.\nSees them weekly now" in notes
    # Ben took "feeling safe" out: cancelled, with its status from the conversation kept.
    (ben_safe,) = [g for g in goals if g.description.text == "I don't feel safe on the stairs"]
    assert ben_safe.lifecycleStatus == "cancelled"
    # Cara reworded: the old words cancelled, the new ones active, reviewed as not met.
    (old,) = [g for g in goals if g.description.text == "I never get time for myself"]
    (new,) = [g for g in goals if g.description.text == "I'd like one evening a week for me"]
    assert (old.lifecycleStatus, new.lifecycleStatus) == ("cancelled", "active")
    assert new.achievementStatus.coding[0].code == "not-achieved"

    # Every reference resolves inside the Bundle.
    full_urls = {e.fullUrl for e in bundle.entry}
    base = get_settings().fhir_base_url
    refs = list(_references(data["entry"]))
    assert len(refs) > 20
    for ref in refs:
        assert f"{base}/{ref}" in full_urls, ref
    # Everyone is a Patient with our identifier and no name; only Cara needs a RelatedPerson.
    patients = _of(bundle, "Patient")
    assert sorted(int(p.id) for p in patients) == sorted(ids.values())
    for p in patients:
        assert p.identifier[0].system == get_settings().fhir_identifier_system
        assert p.identifier[0].value == p.id and not p.name
    assert [r.id for r in _of(bundle, "RelatedPerson")] == [f"carer-{ids['cara']}"]
    # Resource ids are unique.
    assert not [k for k, n in Counter(e.fullUrl for e in bundle.entry).items() if n > 1]


def test_codesystem_holds_every_talking_points_id_and_group():
    from bot.fhir.codesystem import codesystem_resource

    cs = CodeSystem.parse_obj(codesystem_resource(CS_URL))
    codes = {c.code: {k.code for k in c.concept} for c in cs.concept}
    assert set(codes) == {group_code(g) for g in GROUPS}
    assert set().union(*codes.values()) == set(OUTCOME_IDS)
    assert len(OUTCOME_IDS) == 30 and cs.count == 37
    for oid in OUTCOME_IDS:
        assert oid in codes[group_code(OUTCOMES[oid].group)]
    assert "carer_accessible_support" in codes[group_code("carer_process")]
    assert set(GROUP_DISPLAY) == set(GROUPS)
    assert set(all_codes()) == set(codes) | set(OUTCOME_IDS)


def test_words_with_markup_and_json_characters_survive_exactly(sample):
    sm, ids = sample
    text = io.StringIO()
    with sm.begin() as s:
        from bot.fhir.bundle import write_fhir

        write_fhir(s, text, StatementFilter(person_id=ids["fay"]))
    bundle = Bundle.parse_raw(text.getvalue())
    (goal,) = _of(bundle, "Goal")
    assert goal.description.text == AWKWARD_WORDS
    _, everyone = _bundle(sm)
    (review,) = [
        o
        for o in _of(everyone, "Observation")
        if any(AWKWARD_HELPED in (n.text or "") for n in o.note or [])
    ]
    assert f"What has helped: {AWKWARD_HELPED}" in [n.text for n in review.note]
    dev = [g for g in _of(everyone, "Goal") if g.subject.reference == f"Patient/{ids['dev']}"]
    assert dev[0].description.text.startswith("<script>alert('x')</script>")


def test_filters_choose_people_goals_and_their_reviews(sample):
    sm, ids = sample
    _, carers = _bundle(sm, StatementFilter(role="carer"))
    assert [p.id for p in _of(carers, "Patient")] == [str(ids["cara"])]
    assert {g.subject.reference for g in _of(carers, "Goal")} == {f"Patient/{ids['cara']}"}
    assert len(_of(carers, "Observation")) == 2

    _, seeing = _bundle(sm, StatementFilter(outcome="seeing_people"))
    assert {c for g in _of(seeing, "Goal") for c in _codes(g.category[0])} == {"seeing_people"}
    assert len(_of(seeing, "Goal")) == 2 and len(_of(seeing, "Observation")) == 2

    _, safe = _bundle(sm, StatementFilter(outcome="feeling_safe"))
    # Ben's removed "feeling safe" is left out by an outcome filter (as in the CSV export).
    assert [p.id for p in _of(safe, "Patient")] == [str(ids["ana"])]
    assert _of(safe, "Observation") == []

    _, eve = _bundle(sm, StatementFilter(person_id=ids["eve"]))
    assert [e.resource.resource_type for e in eve.entry] == ["CodeSystem", "Patient"]

    with sm.begin() as s, pytest.raises(FhirExportError, match="no person with id 9999"):
        from bot.fhir.bundle import write_fhir

        write_fhir(s, io.StringIO(), StatementFilter(person_id=9999))


def test_cli_writes_a_bundle_and_refuses_an_unknown_outcome_code(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = io.StringIO()
    export(out, "fhir", url)  # migrates the empty database
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        ids = build_fhir_sample(s)
    command = [sys.executable, "-m", "bot", "export", "--format", "fhir", "--url", url]
    ok = subprocess.run(
        [*command, "--person", str(ids["ana"])], cwd=PROJECT, capture_output=True, check=True
    )
    bundle = Bundle.parse_raw(ok.stdout.decode("utf-8"))
    assert len(_of(bundle, "Goal")) == 3 and len(_of(bundle, "Observation")) == 2

    with make_sessionmaker(engine).begin() as s:
        statement = s.execute(select(Statement)).scalars().first()
        s.add(
            OutcomeTag(
                statement_id=statement.id,
                outcome_id="made_up_outcome",
                group="quality_of_life",
                confidence=1.0,
                quote=statement.text,
                state="confirmed",
            )
        )
    engine.dispose()
    refused = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "'made_up_outcome' is not in the Talking Points CodeSystem" in refused.stderr


def _valid_goal(sm) -> dict:
    data, _ = _bundle(sm)
    return next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Goal")


def _valid_observation(sm) -> dict:
    data, _ = _bundle(sm)
    return next(
        e["resource"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and "valueCodeableConcept" in e["resource"]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.update(lifecycleStatus="done"), "lifecycleStatus 'done' is not a goal"),
        (
            lambda g: g["achievementStatus"]["coding"][0].update(code="finished"),
            "achievementStatus code 'finished' is not a goal-achievement code",
        ),
        (
            lambda g: g["category"][0]["coding"][0].update(code="made_up"),
            "code 'made_up' is not in the Talking Points CodeSystem",
        ),
        (
            lambda g: g["category"][1]["coding"][0].update(code="group:change"),
            "category needs the group of",
        ),
        (lambda g: g.update(id="has_underscores"), "is not valid FHIR R4"),
        (lambda g: g.pop("subject"), "is not valid FHIR R4"),
    ],
)
def test_invalid_goals_are_refused_with_a_clear_error(sample, change, message):
    goal = copy.deepcopy(_valid_goal(sample[0]))
    validate(goal, CS_URL)
    change(goal)
    with pytest.raises(FhirValidationError, match=message) as raised:
        validate(goal, CS_URL)
    assert str(raised.value).startswith(f"Goal/{goal.get('id')}")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.update(status="done"), "status 'done' is not an observation status"),
        (
            lambda o: o["valueCodeableConcept"]["coding"][0].update(code="great"),
            "valueCodeableConcept code 'great' is not a goal-achievement code",
        ),
        (
            lambda o: o["code"]["coding"][0].update(code="nope"),
            "code 'nope' is not in the Talking Points CodeSystem",
        ),
    ],
)
def test_invalid_observations_are_refused(sample, change, message):
    observation = copy.deepcopy(_valid_observation(sample[0]))
    validate(observation, CS_URL)
    change(observation)
    with pytest.raises(FhirValidationError, match=message):
        validate(observation, CS_URL)


def test_goal_ids_round_trip():
    for oid in OUTCOME_IDS:
        gid = goal_id(42, oid)
        assert parse_goal_id(gid) == (42, oid) and parse_goal_id(f"Goal/{gid}") == (42, oid)
        assert len(gid) <= 64 and "_" not in gid
    for bad in ("", "42-seeing", "stx-seeing", "st42", "st42-", "st\u00b2-x", "st1234567890-x"):
        assert parse_goal_id(bad) is None
