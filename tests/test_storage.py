"""Repository behaviour on real SQLite and PostgreSQL databases (migrated with Alembic)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.storage import db as storage_db
from bot.storage import repository as repo
from bot.storage.models import (
    Conversation,
    OutcomeStatus,
    OutcomeTag,
    Person,
    Statement,
    Summary,
)

REFERENCE_RE = re.compile(r"^PO-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{6}$")


@dataclass
class Heard:
    """Shaped like what the outcome extractor hands over."""

    outcome_id: str
    confidence: float
    quote: str


def _start(Session, user: str = "u1", role: str | None = "person") -> tuple[int, int]:
    with Session.begin() as s:
        person = repo.get_or_create_person(s, "telegram", user)
        if role:
            repo.set_role(s, person, role)
        conversation = repo.start_conversation(s, person)
        return person.id, conversation.id


def _count(s, model) -> int:
    return s.execute(select(func.count()).select_from(model)).scalar_one()


# ------------------------------------------------------------------------------- people


def test_get_or_create_person_is_idempotent_per_channel(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        assert repo.find_person(s, "telegram", "42") is None
        first = repo.get_or_create_person(s, "telegram", "42")
    with db_sessionmaker.begin() as s:
        again = repo.get_or_create_person(s, "telegram", "42")
        other_channel = repo.get_or_create_person(s, "terminal", "42")
        assert again.id == first.id
        assert other_channel.id != first.id
        assert repo.find_person(s, "telegram", "42").id == first.id
        assert _count(s, Person) == 2
        assert again.created_at.tzinfo is not None


def test_duplicate_person_rejected_by_database(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        repo.get_or_create_person(s, "telegram", "7")
    with pytest.raises(IntegrityError), db_sessionmaker.begin() as s:
        s.add(Person(channel="telegram", channel_user_id="7"))


def test_consent_and_role_round_trip_as_aware_utc(db_sessionmaker):
    bst = timezone(timedelta(hours=1))
    with db_sessionmaker.begin() as s:
        person = repo.get_or_create_person(s, "telegram", "1")
        repo.record_consent(s, person, datetime(2024, 6, 1, 13, 30, tzinfo=bst))
        repo.set_role(s, person, "carer")
        with pytest.raises(ValueError):
            repo.set_role(s, person, "admin")
    with db_sessionmaker.begin() as s:
        person = repo.find_person(s, "telegram", "1")
        assert person.role == "carer"
        assert person.consent_at == datetime(2024, 6, 1, 12, 30, tzinfo=timezone.utc)
        assert person.consent_at.utcoffset() == timedelta(0)
        repo.record_consent(s, person)
    with db_sessionmaker.begin() as s:
        consent = repo.find_person(s, "telegram", "1").consent_at
        assert consent.tzinfo is not None
        assert abs(datetime.now(timezone.utc) - consent) < timedelta(minutes=1)


# ------------------------------------------------------------------------ conversations


def test_start_conversation_copies_role_and_has_a_readable_reference(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        person = repo.get_or_create_person(s, "telegram", "1")
        repo.set_role(s, person, "pa_employer")
        conversation = repo.start_conversation(s, person)
        reference = conversation.reference
    assert REFERENCE_RE.match(reference)
    with db_sessionmaker.begin() as s:
        found = repo.get_conversation_by_reference(s, reference)
        assert found.status == "open"
        assert found.role == "pa_employer"
        assert found.flagged is False
        assert found.started_at.tzinfo is not None
        # people read references back with other spacing, case or without the prefix
        assert repo.get_conversation_by_reference(s, f" {reference.lower()} ").id == found.id
        assert repo.get_conversation_by_reference(s, reference[3:]).id == found.id
        assert repo.get_conversation_by_reference(s, "PO-ZZZZZZ") is None


def test_references_are_unique_even_when_the_random_code_repeats(db_sessionmaker, monkeypatch):
    codes = iter(["PO-AAAAAA", "PO-AAAAAA", "PO-AAAAAA", "PO-BBBBBB"])
    monkeypatch.setattr(repo, "_new_reference", lambda: next(codes))
    with db_sessionmaker.begin() as s:
        person = repo.get_or_create_person(s, "telegram", "1")
        first = repo.start_conversation(s, person)
        second = repo.start_conversation(s, person)
        assert (first.reference, second.reference) == ("PO-AAAAAA", "PO-BBBBBB")
    with pytest.raises(IntegrityError), db_sessionmaker.begin() as s:
        s.add(Conversation(person_id=first.person_id, reference="PO-AAAAAA"))


def test_current_conversation_is_latest_open_or_paused(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        person = repo.get_or_create_person(s, "telegram", "1")
        assert repo.current_conversation(s, person) is None
        old = repo.start_conversation(s, person)
        new = repo.start_conversation(s, person)
        assert repo.current_conversation(s, person).id == new.id
        repo.set_status(s, new, "paused")
        assert repo.current_conversation(s, person).id == new.id
        repo.set_status(s, new, "restarted")
        assert repo.current_conversation(s, person).id == old.id
        repo.save_summary(s, old, "summary")
        assert repo.current_conversation(s, person) is None
        with pytest.raises(ValueError):
            repo.set_status(s, new, "saved")  # only save_summary saves
        with pytest.raises(ValueError):
            repo.set_status(s, new, "closed")


def test_flag_conversation_keeps_first_time_and_all_reasons(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        conversation = s.get(Conversation, conversation_id)
        repo.flag_conversation(s, conversation, "distress")
        first_at = conversation.flagged_at
        repo.flag_conversation(s, conversation, "safeguarding")
        repo.flag_conversation(s, conversation, "distress")
    with db_sessionmaker.begin() as s:
        conversation = s.get(Conversation, conversation_id)
        assert conversation.flagged is True
        assert conversation.flagged_at == first_at
        assert conversation.flag_reason == "distress; safeguarding"


# --------------------------------------------------------------------------- statements


def test_add_statement_orders_and_tags(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        conversation = s.get(Conversation, conversation_id)
        first = repo.add_statement(
            s,
            conversation,
            "I want to get out more. I feel lonely.",
            tags=[
                Heard("having_things_to_do", 0.9, "I want to get out more."),
                ("seeing_people", 0.7, "I feel lonely."),
                {"outcome_id": "feeling_safe", "confidence": 0.55, "quote": ""},
            ],
        )
        assert [st.id for st in conversation.statements] == [first.id]  # loaded collection
        second = repo.add_statement(s, conversation, "Nothing else really.")
        assert [st.id for st in conversation.statements] == [first.id, second.id]
    with db_sessionmaker.begin() as s:
        statements = s.execute(select(Statement).order_by(Statement.position)).scalars().all()
        assert [(st.id, st.position) for st in statements] == [(first.id, 1), (second.id, 2)]
        tags = statements[0].tags
        assert [(t.outcome_id, t.group, t.state) for t in tags] == [
            ("having_things_to_do", "quality_of_life", "suggested"),
            ("seeing_people", "quality_of_life", "suggested"),
            ("feeling_safe", "quality_of_life", "suggested"),
        ]
        assert tags[0].confidence == pytest.approx(0.9)
        assert tags[1].quote == "I feel lonely."
        assert tags[2].quote == "I want to get out more. I feel lonely."  # no quote: whole text
        assert statements[1].tags == []


def test_add_statement_is_idempotent_per_message_id(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    _, other_id = _start(db_sessionmaker, user="u2")
    tags = [("listened_to", 0.8, "Nobody listens.")]
    with db_sessionmaker.begin() as s:
        conversation = s.get(Conversation, conversation_id)
        first = repo.add_statement(s, conversation, "Nobody listens.", message_id="m1", tags=tags)
    with db_sessionmaker.begin() as s:  # the same message delivered again, later
        conversation = s.get(Conversation, conversation_id)
        again = repo.add_statement(
            s, conversation, "Nobody listens.", message_id="m1", tags=tags + [tags[0]]
        )
        assert again.id == first.id
        # the same message id in someone else's conversation is a different message
        other = repo.add_statement(s, s.get(Conversation, other_id), "Hi", message_id="m1")
        assert other.id != first.id
        next_one = repo.add_statement(s, conversation, "More.", message_id="m2")
        assert next_one.position == 2
    with db_sessionmaker.begin() as s:
        assert _count(s, Statement) == 3
        assert _count(s, OutcomeTag) == 1


BAD_STATEMENTS = [
    {"text": ""},
    {"text": "   "},
    {"text": "\n\t "},
    {"text": "\x00"},
    {"tags": [("not_an_outcome", 0.9, "x")]},
    {"tags": [("feeling_safe", 0.9, "x"), ("not_an_outcome", 0.9, "x")]},
    {"tags": [("feeling_safe", 1.5, "x")]},
    {"tags": [("feeling_safe", float("nan"), "x")]},
    {"tags": [("feeling_safe", "high", "x")]},
    {"source": "gossip"},
]


def test_bad_statement_input_rejected_before_anything_is_written(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        conversation = s.get(Conversation, conversation_id)
        for bad in BAD_STATEMENTS:
            kwargs = {"text": "I feel safe.", **bad}
            with pytest.raises(ValueError):
                repo.add_statement(s, conversation, kwargs.pop("text"), **kwargs)
        assert _count(s, Statement) == 0
        assert _count(s, OutcomeTag) == 0


def test_database_enforces_allowed_values(db_sessionmaker):
    person_id, _ = _start(db_sessionmaker)
    with pytest.raises(IntegrityError), db_sessionmaker.begin() as s:
        s.execute(
            insert(Conversation).values(person_id=person_id, reference="PO-CCCCCC", status="bogus")
        )


# ----------------------------------------------------------------- outcomes and statuses


def test_outcomes_heard_in_first_heard_order_without_removed(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.add_statement(s, c, "a", tags=[("reliability", 0.9, "a"), ("feeling_safe", 0.8, "a")])
        repo.add_statement(s, c, "b", tags=[("seeing_people", 0.9, "b"), ("reliability", 0.6, "b")])
        assert repo.outcomes_heard(s, c) == ["reliability", "feeling_safe", "seeing_people"]
        assert repo.remove_outcome(s, c, "reliability") == 2
        assert repo.remove_outcome(s, c, "reliability") == 0
        assert repo.outcomes_heard(s, c) == ["feeling_safe", "seeing_people"]
        with pytest.raises(ValueError):
            repo.remove_outcome(s, c, "nope")
    with db_sessionmaker.begin() as s:  # removed, not deleted
        states = s.execute(
            select(OutcomeTag.state).where(OutcomeTag.outcome_id == "reliability")
        ).scalars()
        assert list(states) == ["removed", "removed"]


def test_set_outcome_status_updates_in_place(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.set_outcome_status(s, c, "feeling_safe", "not_yet")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.set_outcome_status(s, c, "feeling_safe", "going_well")
        repo.set_outcome_status(s, c, "seeing_people", "skipped")
        with pytest.raises(ValueError):
            repo.set_outcome_status(s, c, "feeling_safe", "great")
        with pytest.raises(ValueError):
            repo.set_outcome_status(s, c, "made_up", "partly")
    with db_sessionmaker.begin() as s:
        rows = s.execute(
            select(OutcomeStatus.outcome_id, OutcomeStatus.status).order_by(OutcomeStatus.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("feeling_safe", "going_well"),
            ("seeing_people", "skipped"),
        ]
    with pytest.raises(IntegrityError), db_sessionmaker.begin() as s:
        s.add(
            OutcomeStatus(
                conversation_id=conversation_id, outcome_id="feeling_safe", status="partly"
            )
        )


def test_reword_keeps_the_old_statement_and_uses_the_new_words(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        original = repo.add_statement(
            s, c, "I never go out.", tags=[("having_things_to_do", 0.7, "I never go out.")]
        )
        reworded = repo.reword_outcome(
            s, c, "having_things_to_do", "I'd like to go to the allotment again", message_id="r1"
        )
        # delivered twice: nothing more happens, the new words stay
        assert repo.reword_outcome(s, c, "having_things_to_do", "x", message_id="r1") is reworded
        with pytest.raises(ValueError):
            repo.reword_outcome(s, c, "made_up", "words")
        with pytest.raises(ValueError):
            repo.reword_outcome(s, c, "having_things_to_do", "  ")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        old = s.get(Statement, original.id)
        assert old.text == "I never go out."
        assert [t.state for t in old.tags] == ["removed"]
        new = s.get(Statement, reworded.id)
        assert (new.source, new.position, new.text) == (
            "reword",
            2,
            "I'd like to go to the allotment again",
        )
        assert [(t.outcome_id, t.state, t.confidence, t.quote) for t in new.tags] == [
            ("having_things_to_do", "confirmed", 1.0, "I'd like to go to the allotment again")
        ]
        assert [i.quotes for i in repo.summary_items(s, c)] == [
            ["I'd like to go to the allotment again"]
        ]


# ------------------------------------------------------------------------------ summary


def test_summary_items_grouped_in_framework_order_then_first_heard(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker, role="person")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.add_statement(
            s,
            c,
            "My walking is better. Staff never turn up on time.",
            tags=[
                ("improved_mobility", 0.9, "My walking is better."),
                ("reliability", 0.8, "Staff never turn up on time."),
            ],
        )
        repo.add_statement(
            s,
            c,
            "I love my garden. Staff never turn up on time.",
            tags=[
                ("having_things_to_do", 0.9, "I love my garden."),
                ("reliability", 0.7, "Staff never turn up on time."),  # same quote again
            ],
        )
        repo.add_statement(
            s,
            c,
            "I want to see my grandson. They are late again.",
            tags=[
                ("seeing_people", 0.9, "I want to see my grandson."),
                ("reliability", 0.6, "They are late again."),
                ("staying_well", 0.4, "I want to see my grandson."),
            ],
        )
        repo.remove_outcome(s, c, "staying_well")
        repo.set_outcome_status(s, c, "reliability", "not_yet")
        items = repo.summary_items(s, c)
    assert [(i.outcome_id, i.group) for i in items] == [
        ("having_things_to_do", "quality_of_life"),
        ("seeing_people", "quality_of_life"),
        ("reliability", "process"),
        ("improved_mobility", "change"),
    ]
    reliability = items[2]
    assert reliability.quotes == ["Staff never turn up on time.", "They are late again."]
    assert reliability.status == "not_yet"
    assert reliability.label == "Reliability"
    assert items[0].status is None


def test_words_without_outcomes_are_the_story_lines_never_tagged_in_order(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker, role="person")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.add_statement(s, c, "My daughter visits on Sundays")
        repo.add_statement(s, c, "I love my garden.", tags=[("having_things_to_do", 0.9, "garden")])
        repo.add_statement(s, c, "I can't see the point any more", source="distress")
        repo.add_statement(s, c, "Staff are late.", tags=[("reliability", 0.8, "Staff are late.")])
        repo.add_statement(s, c, "It's hard since he passed")
        repo.remove_outcome(s, c, "reliability")  # taken out of the summary, not put back
        assert repo.words_without_outcomes(s, c) == [
            "My daughter visits on Sundays",
            "It's hard since he passed",
        ]
        other = repo.start_conversation(s, c.person)
        assert repo.words_without_outcomes(s, other) == []


def test_summary_items_for_a_carer_follow_carer_groups(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker, role="carer")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.add_statement(
            s,
            c,
            "Nobody from the council calls back. I never get a break. Mum is happy at home.",
            tags=[
                ("carer_accessible_support", 0.8, "Nobody from the council calls back."),
                ("carer_life_of_own", 0.9, "I never get a break."),
                ("cared_for_quality_of_life", 0.9, "Mum is happy at home."),
                ("feeling_safe", 0.5, "Mum is happy at home."),  # not a carer outcome
            ],
        )
        groups = [i.group for i in repo.summary_items(s, c)]
    assert groups == [
        "cared_for_quality_of_life",
        "carer_quality_of_life",
        "carer_process",
        "quality_of_life",
    ]


def test_save_summary_confirms_tags_and_saves(db_sessionmaker):
    _, conversation_id = _start(db_sessionmaker)
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        repo.add_statement(
            s, c, "text", tags=[("feeling_safe", 0.9, "text"), ("listened_to", 0.6, "text")]
        )
        repo.remove_outcome(s, c, "listened_to")
        repo.save_summary(s, c, "first draft")
        summary = repo.save_summary(s, c, "What matters: feeling safe.")
    with db_sessionmaker.begin() as s:
        c = s.get(Conversation, conversation_id)
        assert c.status == "saved"
        assert c.saved_at is not None and c.saved_at.tzinfo is not None
        assert c.summary.id == summary.id
        assert c.summary.body == "What matters: feeling safe."
        assert _count(s, Summary) == 1
        states = dict(s.execute(select(OutcomeTag.outcome_id, OutcomeTag.state)).all())
        assert states == {"feeling_safe": "confirmed", "listened_to": "removed"}


# --------------------------------------------------------------------- people's rights


def _fill(Session, user: str) -> int:
    """A person with two conversations, statements, tags, statuses and a summary."""
    person_id, conversation_id = _start(Session, user=user)
    with Session.begin() as s:
        person = s.get(Person, person_id)
        c = s.get(Conversation, conversation_id)
        repo.add_statement(s, c, "one", tags=[("feeling_safe", 0.9, "one")])
        repo.add_statement(
            s, c, "two", tags=[("listened_to", 0.9, "two"), ("reliability", 0.5, "two")]
        )
        repo.set_outcome_status(s, c, "feeling_safe", "partly")
        repo.save_summary(s, c, "summary")
        c2 = repo.start_conversation(s, person)
        repo.add_statement(s, c2, "three", source="distress")
        repo.flag_conversation(s, c2, "distress")
    return person_id


def test_person_record_holds_everything_and_is_json_ready(db_sessionmaker):
    person_id = _fill(db_sessionmaker, "me")
    _fill(db_sessionmaker, "someone else")
    with db_sessionmaker.begin() as s:
        record = repo.person_record(s, s.get(Person, person_id))
    json.dumps(record)  # plain data only
    assert record["channel_user_id"] == "me"
    first, second = record["conversations"]
    assert [st["text"] for st in first["statements"]] == ["one", "two"]
    assert [o["id"] for o in first["statements"][1]["outcomes"]] == ["listened_to", "reliability"]
    assert first["outcome_statuses"][0]["status"] == "partly"
    assert first["summary"]["body"] == "summary"
    assert second["flagged"] is True and second["flag_reason"] == "distress"
    assert second["statements"][0]["source"] == "distress"


def test_delete_person_removes_everything_of_theirs_only(db_sessionmaker):
    person_id = _fill(db_sessionmaker, "leaving")
    other_id = _fill(db_sessionmaker, "staying")
    with db_sessionmaker.begin() as s:
        person = s.get(Person, person_id)
        repo.current_conversation(s, person)  # objects in the session must not get in the way
        counts = repo.delete_person(s, person)
    assert counts == {
        "people": 1,
        "conversations": 2,
        "statements": 3,
        "outcome_tags": 3,
        "outcome_statuses": 1,
        "summaries": 1,
    }
    with db_sessionmaker.begin() as s:
        assert s.get(Person, person_id) is None
        assert repo.find_person(s, "telegram", "leaving") is None
        assert _count(s, Person) == 1
        assert _count(s, Conversation) == 2
        assert _count(s, Statement) == 3
        assert _count(s, OutcomeTag) == 3
        assert _count(s, OutcomeStatus) == 1
        assert _count(s, Summary) == 1
        assert len(repo.person_record(s, s.get(Person, other_id))["conversations"]) == 2


def test_database_cascades_deletes_by_itself(db_engine, db_sessionmaker):
    person_id = _fill(db_sessionmaker, "x")
    with db_engine.begin() as conn:  # plain SQL, no ORM cascade involved
        conn.execute(delete(Person).where(Person.id == person_id))
    with db_sessionmaker.begin() as s:
        for model in (Conversation, Statement, OutcomeTag, OutcomeStatus, Summary):
            assert _count(s, model) == 0, model.__tablename__


# ---------------------------------------------------------------------- engine/session


def test_session_scope_commits_or_rolls_back(db_sessionmaker):
    with storage_db.session_scope(db_sessionmaker) as s:
        repo.get_or_create_person(s, "telegram", "kept")
    with pytest.raises(RuntimeError), storage_db.session_scope(db_sessionmaker) as s:
        repo.get_or_create_person(s, "telegram", "lost")
        raise RuntimeError("boom")
    with storage_db.session_scope(db_sessionmaker) as s:
        assert repo.find_person(s, "telegram", "kept") is not None
        assert repo.find_person(s, "telegram", "lost") is None


def test_default_sessionmaker_is_lazy_and_uses_settings(tmp_path, monkeypatch):
    from bot.settings import get_settings
    from bot.storage.migrate import upgrade

    db_file = tmp_path / "new" / "folder" / "outcomes.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_file}")
    get_settings.cache_clear()
    storage_db.dispose_default()
    try:
        assert not db_file.parent.exists()  # nothing opened yet
        factory = storage_db.default_sessionmaker()
        assert storage_db.default_sessionmaker() is factory
        assert db_file.parent.is_dir()  # make_engine created the folder
        upgrade()
        with storage_db.session_scope() as s:
            repo.get_or_create_person(s, "terminal", "me")
        assert db_file.exists()
    finally:
        storage_db.dispose_default()
        get_settings.cache_clear()


def test_a_sqlite_file_keeps_its_connection_between_transactions(tmp_path):
    """Opening the file and setting the pragmas every transaction cost a tenth of a turn."""
    import threading

    from sqlalchemy import event, text

    engine = storage_db.make_engine(f"sqlite:///{tmp_path / 'pooled.db'}")
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(3):
            with engine.begin() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        other = []  # the pooled connection also serves the action server's worker threads

        def from_a_thread() -> None:
            with engine.connect() as conn:
                other.append(conn.execute(text("SELECT 1")).scalar_one())

        worker = threading.Thread(target=from_a_thread)
        worker.start()
        worker.join()
        assert other == [1]
        assert len(opened) == 1
    finally:
        engine.dispose()
