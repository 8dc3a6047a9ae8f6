"""The review web app over HTTP (Flask's test client): sign-in, CSRF, audit, escaping, exports."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from sqlalchemy import select

from bot.review import create_app
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import AuditEntry, OutcomeReview, PractitionerNote, Statement
from tests.review_helpers import SCRIPT_WORDS, add_practitioner, build_sample, csrf_from, login


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory):
    """A migrated database with the sample people and a practitioner, made once."""
    path = tmp_path_factory.mktemp("review") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        ids = build_sample(s)
        add_practitioner(s)
    engine.dispose()
    return path, ids


@pytest.fixture
def app_and_db(filled_db, tmp_path):
    template, ids = filled_db
    shutil.copy(template, tmp_path / "review.db")
    url = f"sqlite:///{tmp_path / 'review.db'}"
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SESSION_COOKIE_SECURE": True})
    yield app, sm, ids
    app.extensions["po_engine"].dispose()
    engine.dispose()


@pytest.fixture
def client(app_and_db):
    return app_and_db[0].test_client()


@pytest.fixture
def signed_in(client):
    assert login(client).status_code == 302
    return client


PAGES = [
    "/",
    "/people/",
    "/people/1",
    "/people/1/print",
    "/overview/",
    "/overview/top",
    "/overview/statements?outcome=seeing_people",
    "/exports/",
    "/exports/statements.csv",
    "/exports/outcomes.json",
    "/no/such/page",
]


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_visible_without_signing_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/auth/login")
    assert b"grandchildren" not in response.data


def test_sign_in_redirects_back_and_sets_safe_cookies(client):
    response = client.get("/people/1")
    assert response.location == "/auth/login?next=/people/1"
    response = login(client, next_url="/people/1")
    assert response.status_code == 302 and response.location == "/people/1"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/people/1").status_code == 200


def test_sign_in_starts_a_new_session(client):
    before = csrf_from(client.get("/auth/login").get_data(as_text=True))
    login(client)
    page = client.get("/people/1").get_data(as_text=True)
    assert csrf_from(page) != before


def test_wrong_password_and_unknown_name_are_refused_alike(app_and_db, client):
    for name, password in (("alex", "wrong password!"), ("nobody", "whatever it is")):
        response = login(client, name, password)
        assert response.status_code == 401
        assert b"name or password is not right" in response.data
    assert client.get("/people/").status_code == 302
    with app_and_db[1].begin() as s:
        actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
    assert actions == ["sign_in_failed", "sign_in_failed"]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_open_redirects_are_refused(client, target):
    response = login(client, next_url=target)
    assert response.status_code == 302
    assert response.location == "/people/"


def test_sign_out_needs_a_post_with_the_token(signed_in):
    assert signed_in.get("/auth/logout").status_code == 405
    assert signed_in.post("/auth/logout").status_code == 400
    token = csrf_from(signed_in.get("/people/").get_data(as_text=True))
    response = signed_in.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert signed_in.get("/people/").status_code == 302


POSTS = [
    ("/auth/login", {"name": "alex", "password": "correct horse battery staple"}),
    ("/auth/logout", {}),
    ("/people/1/notes", {"body": "a note"}),
    ("/people/1/reviews", {"outcome_id": "seeing_people", "status": "fully_met"}),
]


@pytest.mark.parametrize("path,data", POSTS)
@pytest.mark.parametrize("token", [None, "forged"])
def test_every_post_without_the_csrf_token_is_refused(app_and_db, signed_in, path, data, token):
    if token is not None:
        data = {**data, "csrf_token": token}
    assert signed_in.post(path, data=data).status_code == 400
    with app_and_db[1].begin() as s:
        assert s.execute(select(PractitionerNote)).first() is None
        assert s.execute(select(OutcomeReview)).first() is None


def test_every_post_form_carries_the_token(signed_in):
    for path in ("/people/1", "/people/", "/overview/", "/exports/"):
        html = signed_in.get(path).get_data(as_text=True)
        for form in re.findall(r"<form[^>]*>.*?</form>", html, re.S):
            if 'method="post"' in form:
                assert 'name="csrf_token"' in form, form[:200]


def test_person_views_are_audited(app_and_db, signed_in):
    _, sm, ids = app_and_db
    assert signed_in.get(f"/people/{ids['ana']}").status_code == 200
    assert signed_in.get(f"/people/{ids['ana']}/print").status_code == 200
    assert signed_in.get("/people/9999").status_code == 404
    with sm.begin() as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.person_id.is_not(None))).scalars()
        seen = [(e.practitioner_name, e.action, e.person_id) for e in entries]
    assert seen == [("alex", "view_person", ids["ana"]), ("alex", "print_person", ids["ana"])]


def test_people_words_are_escaped(app_and_db, signed_in):
    ids = app_and_db[2]
    for path in (f"/people/{ids['dev']}", "/overview/statements?outcome=reliability"):
        html = signed_in.get(path).get_data(as_text=True)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "default-src 'none'" in signed_in.get("/people/").headers["Content-Security-Policy"]


def test_notes_and_reviews_leave_the_persons_words_alone(app_and_db, signed_in):
    _, sm, ids = app_and_db
    with sm.begin() as s:
        before = [st.text for st in s.execute(select(Statement)).scalars()]
    page = f"/people/{ids['ana']}"
    token = csrf_from(signed_in.get(page).get_data(as_text=True))
    response = signed_in.post(
        f"{page}/notes", data={"csrf_token": token, "body": "<b>Call her</b> on Friday"}
    )
    assert response.status_code == 302
    response = signed_in.post(
        f"{page}/reviews",
        data={"csrf_token": token, "outcome_id": "feeling_safe", "status": "partly_met"},
    )
    assert response.status_code == 302
    bad = {"csrf_token": token, "outcome_id": "feeling_safe", "status": "brilliant"}
    assert signed_in.post(f"{page}/reviews", data=bad).status_code == 400
    html = signed_in.get(page).get_data(as_text=True)
    assert "&lt;b&gt;Call her&lt;/b&gt; on Friday" in html
    assert "Partly met</strong> by alex" in html
    with sm.begin() as s:
        assert [st.text for st in s.execute(select(Statement)).scalars()] == before
        review = s.execute(select(OutcomeReview)).scalar_one()
        assert (review.person_id, review.outcome_id, review.status) == (
            ids["ana"],
            "feeling_safe",
            "partly_met",
        )


def test_people_list_search_and_filters(app_and_db, signed_in):
    ids = app_and_db[2]

    def listed(query: str) -> set[int]:
        html = signed_in.get(f"/people/?{query}").get_data(as_text=True)
        return {int(n) for n in re.findall(r'href="/people/(\d+)"', html)}

    assert listed("") == set(ids.values())
    assert listed("q=grandchildren") == {ids["ana"]}
    assert listed("role=carer") == {ids["cara"]}
    assert listed("flagged=yes") == {ids["ben"]}
    assert listed("status=not_yet") == {ids["ben"], ids["cara"]}
    assert listed("outcome=feeling_safe") == {ids["ana"]}
    assert listed("to=2025-01-31") == {ids["ana"]}
    assert listed("role=nonsense") == set(ids.values())  # unknown values are ignored


def test_chart_numbers_open_the_statements_they_count(signed_in):
    html = signed_in.get("/overview/").get_data(as_text=True)
    assert "<svg" in html and "<script" not in html
    links = set(re.findall(r'href="(/overview/statements\?[^"]+)"', html))
    link = "/overview/statements?outcome=seeing_people&amp;status=going_well"
    assert link in links
    page = signed_in.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r'id="total-people">1<', page)
    assert "I see my grandchildren every week now" in page
    assert "I love seeing my grandchildren" not in page
    top = signed_in.get("/overview/top").get_data(as_text=True)
    assert "outcome=carer_life_of_own&amp;status=not_yet" in top
    carers = signed_in.get("/overview/?role=carer").get_data(as_text=True)
    assert "Unpaid carers" in carers and "People who use services" not in carers


def test_exports_apply_the_filters(app_and_db, signed_in):
    ids = app_and_db[2]
    response = signed_in.get("/exports/statements.csv?role=carer")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert {r["person_id"] for r in rows} == {str(ids["cara"])} and len(rows) == 2
    data = json.loads(signed_in.get("/exports/outcomes.json?outcome=reliability").data)
    (person,) = data["people"]
    assert person["id"] == ids["dev"]
    assert person["conversations"][0]["statements"][0]["text"] == SCRIPT_WORDS
    everything = json.loads(signed_in.get("/exports/outcomes.json").data)
    assert len(everything["people"]) == 5


def test_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("REVIEW_SECRET_KEY", raising=False)
    monkeypatch.delenv("REVIEW_DEV", raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(RuntimeError, match="REVIEW_SECRET_KEY"):
        create_app({"DATABASE_URL": url})
    app = create_app({"DATABASE_URL": url, "REVIEW_DEV": True})
    assert len(app.config["SECRET_KEY"]) == 64
    monkeypatch.setenv("REVIEW_SECRET_KEY", "k" * 40)
    assert create_app({"DATABASE_URL": url}).config["SECRET_KEY"] == "k" * 40
