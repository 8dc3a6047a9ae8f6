"""Shared data and helpers for the review web app tests (tests/test_review_*.py, browser)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from werkzeug.security import generate_password_hash

from bot.storage import repository as repo

PASSWORD = "correct horse battery staple"
SCRIPT_WORDS = "<script>alert('x')</script> I want my PA to turn up on time"
JAN = datetime(2025, 1, 10, 10, 0, tzinfo=timezone.utc)
MAR = datetime(2025, 3, 5, 10, 0, tzinfo=timezone.utc)


def _when(conversation, when: datetime) -> None:
    conversation.started_at = when
    for st in conversation.statements:
        st.created_at = when


def build_sample(s) -> dict[str, int]:
    """Five people: two people (one in two conversations), a carer, a PA employer with markup
    in their words, and someone with no conversation. Returns ``{"name": person id}``."""
    ids = {}
    # Ana, a person: seeing people "partly" in January, "going well" in March.
    ana = repo.get_or_create_person(s, "telegram", "ana")
    repo.set_role(s, ana, "person")
    repo.record_consent(s, ana)
    c1 = repo.start_conversation(s, ana)
    repo.add_statement(s, c1, "I love seeing my grandchildren", tags=[("seeing_people", 0.9, None)])
    repo.add_statement(s, c1, "I want to feel safe at home", tags=[("feeling_safe", 0.8, None)])
    repo.set_outcome_status(s, c1, "seeing_people", "partly")
    repo.set_outcome_status(s, c1, "feeling_safe", "going_well")
    repo.save_summary(s, c1, "You said seeing your grandchildren matters.")
    _when(c1, JAN)
    c2 = repo.start_conversation(s, ana)
    repo.add_statement(
        s, c2, "I see my grandchildren every week now", tags=[("seeing_people", 0.95, None)]
    )
    repo.set_outcome_status(s, c2, "seeing_people", "going_well")
    _when(c2, MAR)
    ids["ana"] = ana.id
    # Ben, a person, flagged; "feeling safe" was taken out by him (removed: must not count).
    ben = repo.get_or_create_person(s, "telegram", "ben")
    repo.set_role(s, ben, "person")
    c = repo.start_conversation(s, ben)
    repo.add_statement(
        s,
        c,
        "I'd like to learn the bus route to my art class",
        tags=[("improved_skills", 0.8, None), ("having_things_to_do", 0.7, None)],
    )
    repo.add_statement(s, c, "I don't feel safe on the stairs", tags=[("feeling_safe", 0.7, None)])
    repo.remove_outcome(s, c, "feeling_safe")
    repo.set_outcome_status(s, c, "improved_skills", "not_yet")
    repo.flag_conversation(s, c, "distress")
    _when(c, MAR)
    ids["ben"] = ben.id
    # Cara, an unpaid carer.
    cara = repo.get_or_create_person(s, "telegram", "cara")
    repo.set_role(s, cara, "carer")
    c = repo.start_conversation(s, cara)
    repo.add_statement(s, c, "I never get time for myself", tags=[("carer_life_of_own", 0.8, None)])
    repo.add_statement(
        s, c, "Mum loves her day centre", tags=[("cared_for_quality_of_life", 0.9, None)]
    )
    repo.set_outcome_status(s, c, "carer_life_of_own", "not_yet")
    repo.set_outcome_status(s, c, "cared_for_quality_of_life", "going_well")
    _when(c, MAR)
    ids["cara"] = cara.id
    # Dev, a PA employer whose words hold markup.
    dev = repo.get_or_create_person(s, "telegram", "dev")
    repo.set_role(s, dev, "pa_employer")
    c = repo.start_conversation(s, dev)
    repo.add_statement(s, c, SCRIPT_WORDS, tags=[("reliability", 0.9, None)])
    repo.set_outcome_status(s, c, "reliability", "partly")
    _when(c, MAR)
    ids["dev"] = dev.id
    # Eve: agreed, said nothing yet.
    eve = repo.get_or_create_person(s, "telegram", "eve")
    ids["eve"] = eve.id
    s.flush()
    return ids


def add_practitioner(s, name: str = "alex", password: str = PASSWORD):
    """A practitioner account (a cheap PBKDF2 hash: the app checks any Werkzeug hash)."""
    return repo.add_practitioner(s, name, generate_password_hash(password, "pbkdf2:sha256:1000"))


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, name: str = "alex", password: str = PASSWORD, next_url: str | None = None):
    """Sign in through the form (fetching its CSRF token first); returns the response."""
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    data = {"csrf_token": token, "name": name, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/auth/login", data=data)
