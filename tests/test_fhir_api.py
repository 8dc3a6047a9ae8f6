"""The read-only FHIR API (``/fhir``) and the review app's FHIR downloads: token access,
revocation, audit entries, FHIR JSON that ``fhir.resources`` parses, exact words."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.codesystem import CodeSystem
from fhir.resources.goal import Goal
from fhir.resources.patient import Patient
from fhir.resources.relatedperson import RelatedPerson
from sqlalchemy import select

from bot.cli import main as cli_main
from bot.fhir import tokens
from bot.review import create_app
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import ApiToken, AuditEntry, OutcomeTag, Statement
from tests.fhir_helpers import AWKWARD_WORDS, build_fhir_sample
from tests.review_helpers import SCRIPT_WORDS, login

FHIR_JSON = "application/fhir+json; charset=utf-8"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("fhir") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        ids = build_fhir_sample(s)
    engine.dispose()
    return path, ids


@pytest.fixture
def env(template, tmp_path):
    """(test client, session factory, person ids, database URL, a live token)."""
    path, ids = template
    shutil.copy(path, tmp_path / "fhir.db")
    url = f"sqlite:///{tmp_path / 'fhir.db'}"
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    with sm.begin() as s:
        _, token = tokens.create_token(s, "council-crm")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
    yield app.test_client(), sm, ids, url, token
    app.extensions["po_engine"].dispose()
    engine.dispose()


def _get(client, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def _audit(sm) -> list[AuditEntry]:
    with sm() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


@pytest.mark.parametrize(
    "path",
    ["/fhir/metadata", "/fhir/Patient/1", "/fhir/Goal?patient=1", "/fhir/Goal/st1-seeing-people"],
)
@pytest.mark.parametrize("auth", [None, "Bearer not-a-real-token", "Basic abc", "Bearer "])
def test_requests_without_a_valid_token_get_401(env, path, auth):
    client, sm, *_ = env
    response = client.get(path, headers={"Authorization": auth} if auth else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == FHIR_JSON
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "login"
    assert "grandchildren" not in response.get_data(as_text=True)
    (entry,) = _audit(sm)
    assert (entry.action, entry.practitioner_name, entry.person_id) == (
        "fhir_refused",
        "api:-",
        None,
    )


def test_a_revoked_token_stops_working_at_once(env):
    client, sm, ids, url, token = env
    assert _get(client, f"/fhir/Patient/{ids['ana']}", token).status_code == 200
    assert cli_main(["api-token", "--url", url, "revoke", "council-crm"]) == 0
    response = _get(client, f"/fhir/Patient/{ids['ana']}", token)
    assert response.status_code == 401
    assert [(e.action, e.practitioner_name) for e in _audit(sm)][-1] == (
        "fhir_refused",
        "api:council-crm",
    )
    assert cli_main(["api-token", "--url", url, "revoke", "council-crm"]) == 1


def test_cli_makes_a_token_shown_once_and_stores_only_its_hash(env, capsys):
    client, sm, ids, url, _ = env
    assert cli_main(["api-token", "--url", url, "add", "gp-system"]) == 0
    token = capsys.readouterr().out.splitlines()[1]
    assert len(token) >= 43
    with sm() as s:
        row = tokens.get_token(s, "gp-system")
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {r.token_hash for r in s.execute(select(ApiToken)).scalars()}
    assert _get(client, f"/fhir/Patient/{ids['ana']}", token).status_code == 200
    assert cli_main(["api-token", "--url", url, "add", "gp-system"]) == 1  # name taken
    assert cli_main(["api-token", "--url", url, "list"]) == 0
    listed = capsys.readouterr().out
    assert "gp-system" in listed and "council-crm" in listed and token not in listed
    with sm() as s:
        assert tokens.get_token(s, "gp-system").last_used_at is not None


def test_patient_read_is_fhir_json_and_audited(env):
    client, sm, ids, _, token = env
    response = _get(client, f"/fhir/Patient/{ids['ana']}", token)
    assert response.status_code == 200 and response.content_type == FHIR_JSON
    patient = Patient.parse_raw(response.get_data(as_text=True))
    assert patient.id == str(ids["ana"]) and patient.identifier[0].value == str(ids["ana"])
    assert not patient.name
    entry = _audit(sm)[-1]
    assert (entry.action, entry.person_id, entry.practitioner_name, entry.practitioner_id) == (
        "fhir_read_patient",
        ids["ana"],
        "api:council-crm",
        None,
    )
    missing = _get(client, "/fhir/Patient/9999", token)
    assert missing.status_code == 404
    assert missing.get_json(force=True)["issue"][0]["code"] == "not-found"
    assert _get(client, "/fhir/Patient/abc", token).status_code == 404


def test_goal_search_keeps_the_words_exactly(env):
    client, sm, ids, _, token = env
    for name, words in (("fay", AWKWARD_WORDS), ("dev", SCRIPT_WORDS)):
        response = _get(client, f"/fhir/Goal?patient=Patient/{ids[name]}", token)
        assert response.status_code == 200 and response.content_type == FHIR_JSON
        bundle = Bundle.parse_raw(response.get_data(as_text=True))
        assert bundle.type == "searchset" and bundle.total == 1
        assert bundle.entry[0].resource.description.text == words
        assert bundle.entry[0].fullUrl.startswith("http://localhost/fhir/Goal/")
        assert _audit(sm)[-1].action == "fhir_search_goal"
        assert _audit(sm)[-1].person_id == ids[name]
    ana = Bundle.parse_raw(_get(client, f"/fhir/Goal?patient={ids['ana']}", token).data)
    assert {e.resource.description.text for e in ana.entry} == {
        "I love seeing my grandchildren",
        "I want to feel safe at home",
        "I see my grandchildren every week now",
    }
    nobody = Bundle.parse_raw(_get(client, "/fhir/Goal?patient=9999", token).data)
    assert nobody.total == 0
    assert _get(client, "/fhir/Goal", token).status_code == 400


def test_goal_read_and_observation_search_by_focus(env):
    client, sm, ids, _, token = env
    ana = Bundle.parse_raw(_get(client, f"/fhir/Goal?patient={ids['ana']}", token).data)
    (reviewed,) = [
        e.resource for e in ana.entry if e.resource.description.text.startswith("I love")
    ]
    one = Goal.parse_raw(_get(client, f"/fhir/Goal/{reviewed.id}", token).data)
    assert one.description.text == "I love seeing my grandchildren"
    assert _audit(sm)[-1].action == "fhir_read_goal"
    response = _get(client, f"/fhir/Observation?focus=Goal/{reviewed.id}", token)
    bundle = Bundle.parse_raw(response.data)
    assert bundle.total == 2
    assert [e.resource.valueCodeableConcept.coding[0].code for e in bundle.entry] == [
        "in-progress",
        "achieved",
    ]
    assert {f.reference for e in bundle.entry for f in e.resource.focus} == {f"Goal/{reviewed.id}"}
    entry = _audit(sm)[-1]
    assert (entry.action, entry.person_id) == ("fhir_search_observation", ids["ana"])
    assert _get(client, "/fhir/Observation", token).status_code == 400
    assert _get(client, "/fhir/Goal/st999999-seeing-people", token).status_code == 404


def test_metadata_codesystem_and_carer(env):
    client, sm, ids, _, token = env
    cap = CapabilityStatement.parse_raw(_get(client, "/fhir/metadata", token).data)
    assert cap.fhirVersion == "4.0.1"
    kinds = {r.type for r in cap.rest[0].resource}
    assert kinds == {"Patient", "RelatedPerson", "Goal", "Observation", "CodeSystem"}
    cs = CodeSystem.parse_raw(_get(client, "/fhir/CodeSystem/talking-points", token).data)
    assert cs.count == 37
    assert _get(client, "/fhir/CodeSystem/other", token).status_code == 404
    carer = RelatedPerson.parse_raw(
        _get(client, f"/fhir/RelatedPerson/carer-{ids['cara']}", token).data
    )
    assert carer.patient.reference == f"Patient/{ids['cara']}"
    assert _get(client, f"/fhir/RelatedPerson/carer-{ids['ana']}", token).status_code == 404
    actions = [e.action for e in _audit(sm)]
    assert actions[-5:] == [
        "fhir_read_metadata",
        "fhir_read_codesystem",
        "fhir_read_codesystem",
        "fhir_read_relatedperson",
        "fhir_read_relatedperson",
    ]


def test_review_app_downloads_fhir_for_one_person_and_the_filtered_list(env):
    client, sm, ids, _, _ = env
    assert login(client).status_code == 302
    listing = client.get("/people/?role=carer").get_data(as_text=True)
    assert 'href="/exports/outcomes.fhir.json?role=carer"' in listing
    detail = client.get(f"/people/{ids['cara']}").get_data(as_text=True)
    assert f'href="/exports/people/{ids["cara"]}.fhir.json"' in detail
    assert "Download FHIR" in client.get("/exports/").get_data(as_text=True)

    one = client.get(f"/exports/people/{ids['cara']}.fhir.json")
    assert one.status_code == 200 and one.content_type == FHIR_JSON
    assert "attachment" in one.headers["Content-Disposition"]
    bundle = Bundle.parse_raw(one.data)
    assert {e.resource.resource_type for e in bundle.entry} == {
        "CodeSystem",
        "Patient",
        "RelatedPerson",
        "Goal",
        "Observation",
    }
    entry = _audit(sm)[-1]
    assert (entry.action, entry.person_id, entry.practitioner_name) == (
        "export_fhir",
        ids["cara"],
        "alex",
    )
    filtered = Bundle.parse_raw(client.get("/exports/outcomes.fhir.json?role=carer").data)
    assert [e.resource.id for e in filtered.entry if e.resource.resource_type == "Patient"] == [
        str(ids["cara"])
    ]
    assert (_audit(sm)[-1].action, _audit(sm)[-1].detail) == ("export_fhir", "role=carer")
    assert client.get("/exports/people/9999.fhir.json").status_code == 404


def test_review_downloads_need_a_practitioner(env):
    client, _, ids, _, token = env
    response = client.get(f"/exports/people/{ids['ana']}.fhir.json")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    # An API token is not a practitioner sign-in.
    assert _get(client, "/exports/outcomes.fhir.json", token).status_code == 302


def test_an_invalid_resource_is_refused_not_sent(env):
    client, sm, ids, _, token = env
    with sm.begin() as s:
        (statement,) = s.execute(
            select(Statement).where(Statement.text == "I love seeing my grandchildren")
        ).scalars()
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
    response = _get(client, f"/fhir/Goal?patient={ids['ana']}", token)
    assert response.status_code == 500 and response.content_type == FHIR_JSON
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome"
    assert (
        "'made_up_outcome' is not in the Talking Points CodeSystem"
        in body["issue"][0]["diagnostics"]
    )
    assert "grandchildren" not in response.get_data(as_text=True)
    assert _get(client, f"/fhir/Patient/{ids['ana']}\u00b2", token).status_code == 404
    assert _get(client, "/fhir/Patient/99999999999999999999", token).status_code == 404
