"""Counts across people, and the statements behind each count (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from bot import export
from bot.outcomes.framework import GROUPS, OUTCOMES
from bot.review import queries
from bot.storage import repository as repo
from bot.storage.models import AuditEntry, OutcomeReview, Person, PractitionerNote
from bot.storage.repository import StatementFilter
from tests.review_helpers import SCRIPT_WORDS, add_practitioner, build_sample

EVERYONE = StatementFilter()


@pytest.fixture
def sample(db_sessionmaker):
    with db_sessionmaker.begin() as s:
        ids = build_sample(s)
        alex = add_practitioner(s)
        ana = s.get(Person, ids["ana"])
        repo.add_review(s, ana, alex, "seeing_people", "partly_met")
        repo.add_review(s, ana, alex, "seeing_people", "fully_met", "sees them weekly")
        repo.add_review(s, s.get(Person, ids["cara"]), alex, "carer_life_of_own", "not_met")
    return db_sessionmaker, ids


def _people_behind(s, f, **kw) -> set[int]:
    return {pid for _, pid in queries.statement_ids_behind(s, f, **kw)}


def _texts_behind(s, f, **kw) -> list[str]:
    ids = [sid for sid, _ in queries.statement_ids_behind(s, f, **kw)]
    return [r.text for r in queries.statement_rows(s, ids)]


def test_outcome_counts_use_the_latest_status_and_skip_removed_tags(sample):
    sm, ids = sample
    with sm.begin() as s:
        counts = queries.outcome_counts(s, EVERYONE)
    seeing = counts["seeing_people"]
    assert (seeing.people, seeing.statements) == (1, 2)
    assert seeing.by_status["going_well"] == 1 and seeing.by_status["partly"] == 0
    assert seeing.by_review == {"fully_met": 1, "partly_met": 0, "not_met": 0}
    # Ben took "feeling safe" out: only Ana counts.
    assert (counts["feeling_safe"].people, counts["feeling_safe"].statements) == (1, 1)
    assert counts["improved_skills"].by_status["not_yet"] == 1
    assert counts["having_things_to_do"].by_status[queries.NO_STATUS] == 1
    assert counts["carer_life_of_own"].by_review["not_met"] == 1
    assert counts["reliability"].by_status["partly"] == 1
    assert counts["listened_to"].people == 0
    assert sum(c.people for c in counts.values()) == 7


def test_group_counts_count_each_person_once(sample):
    sm, _ = sample
    with sm.begin() as s:
        groups = queries.group_counts(s, EVERYONE)
    assert groups["quality_of_life"].people == 2  # Ana (twice over) and Ben
    assert groups["quality_of_life"].statements == 4
    assert (groups["process"].people, groups["change"].people) == (1, 1)
    assert groups["carer_quality_of_life"].people == 1
    assert groups["carer_process"].people == 0


def test_every_count_equals_the_statements_behind_it(sample):
    sm, _ = sample
    for f in (
        EVERYONE,
        StatementFilter(role="person"),
        StatementFilter(role="carer"),
        StatementFilter(date_to=date(2025, 1, 31)),
        StatementFilter(date_from=date(2025, 2, 1), flagged=False),
    ):
        with sm.begin() as s:
            counts = queries.outcome_counts(s, f)
            groups = queries.group_counts(s, f)
            for oid, c in counts.items():
                g = StatementFilter(**{**f.__dict__, "outcome": oid})
                if c.people == 0:
                    assert queries.statement_ids_behind(s, g) == [] and c.statements == 0
                    continue
                assert len(_people_behind(s, g)) == c.people, (f, oid)
                assert len(queries.statement_ids_behind(s, g)) == c.statements, (f, oid)
                for key, n in c.by_status.items():
                    assert len(_people_behind(s, g, status=key)) == n, (f, oid, key)
                for key, n in c.by_review.items():
                    assert len(_people_behind(s, g, review=key)) == n, (f, oid, key)
            for gid in GROUPS:
                g = StatementFilter(**{**f.__dict__, "group": gid})
                assert len(_people_behind(s, g)) == groups[gid].people, (f, gid)
                assert len(queries.statement_ids_behind(s, g)) == groups[gid].statements


def test_statements_behind_a_status_are_the_words_it_was_read_from(sample):
    sm, _ = sample
    with sm.begin() as s:
        f = StatementFilter(outcome="seeing_people")
        assert _texts_behind(s, f, status="going_well") == ["I see my grandchildren every week now"]
        assert _texts_behind(s, f, status="partly") == []
        assert _texts_behind(s, f) == [
            "I love seeing my grandchildren",
            "I see my grandchildren every week now",
        ]
        assert _texts_behind(s, f, review="fully_met") == _texts_behind(s, f)
        assert _texts_behind(s, StatementFilter(outcome="feeling_safe")) == [
            "I want to feel safe at home"
        ]


def test_filters_by_role_and_date(sample):
    sm, _ = sample
    with sm.begin() as s:
        carers = queries.outcome_counts(s, StatementFilter(role="carer"))
        assert {o for o, c in carers.items() if c.people} == {
            "carer_life_of_own",
            "cared_for_quality_of_life",
        }
        january = queries.outcome_counts(s, StatementFilter(date_to=date(2025, 1, 31)))
        # In January Ana said seeing people was only partly there.
        assert january["seeing_people"].by_status["partly"] == 1
        assert january["seeing_people"].by_status["going_well"] == 0
        assert january["improved_skills"].people == 0
        assert (
            queries.outcome_counts(s, StatementFilter(role="pa_employer"))["reliability"].people
            == 1
        )


def test_top_outcomes(sample):
    sm, _ = sample
    with sm.begin() as s:
        top = queries.top_outcomes(queries.outcome_counts(s, EVERYONE))
    assert {c.outcome_id for c in top["working"]} == {
        "seeing_people",
        "feeling_safe",
        "cared_for_quality_of_life",
    }
    assert {c.outcome_id for c in top["not_working"]} == {
        "improved_skills",
        "carer_life_of_own",
        "reliability",
    }
    assert [c.outcome_id for c in top["met"]] == ["seeing_people"]
    assert [c.outcome_id for c in top["not_met"]] == ["carer_life_of_own"]


def test_people_list_filters(sample):
    sm, ids = sample

    def people(f=EVERYONE, **kw) -> set[int]:
        with sm.begin() as s:
            rows, total = queries.people_page(s, f, **kw)
        assert total == len(rows)
        return {r.id for r in rows}

    assert people() == set(ids.values())
    assert people(StatementFilter(text="GRANDchildren")) == {ids["ana"]}
    assert people(StatementFilter(text="100%")) == set()  # LIKE wildcards are literal
    with sm.begin() as s:
        reference = s.get(Person, ids["cara"]).conversations[0].reference
    assert people(StatementFilter(text=reference.lower())) == {ids["cara"]}
    assert people(StatementFilter(role="carer")) == {ids["cara"]}
    assert people(StatementFilter(flagged=True)) == {ids["ben"]}
    assert people(StatementFilter(outcome="feeling_safe")) == {ids["ana"]}
    assert people(status="not_yet") == {ids["ben"], ids["cara"]}
    assert people(StatementFilter(outcome="seeing_people"), status="partly") == set()
    assert people(review="not_met") == {ids["cara"]}
    assert people(StatementFilter(date_to=date(2025, 1, 31))) == {ids["ana"]}
    with sm.begin() as s:
        rows, total = queries.people_page(s, EVERYONE, page=2, per_page=2)
    assert total == 5 and len(rows) == 2
    with sm.begin() as s:
        flagged = {r.id: r.flagged for r in queries.people_page(s, EVERYONE)[0]}
    assert flagged[ids["ben"]] and not flagged[ids["ana"]]


def test_person_view_groups_words_and_status_history(sample):
    sm, ids = sample
    with sm.begin() as s:
        view = queries.person_view(s, ids["ana"])
        assert [g.id for g, _ in view.groups][:3] == ["quality_of_life", "process", "change"]
        (qol, items), *_ = view.groups
        seeing = next(o for o in items if o.outcome_id == "seeing_people")
        assert [st for _, _, st in seeing.history] == ["partly", "going_well"]
        assert seeing.status == "going_well" and seeing.review.status == "fully_met"
        assert [q for q, _ in seeing.quotes][0] == "I love seeing my grandchildren"
        ben = queries.person_view(s, ids["ben"])
        heard = {o.outcome_id for _, items in ben.groups for o in items}
        assert "feeling_safe" not in heard and ben.flagged
        carer = queries.person_view(s, ids["cara"])
        assert carer.groups[0][0].id == "cared_for_quality_of_life"
        assert queries.person_view(s, 10_000) is None


def test_deleting_a_person_removes_notes_and_reviews_but_keeps_the_audit(sample):
    sm, ids = sample
    with sm.begin() as s:
        alex = repo.get_practitioner_by_name(s, "alex")
        ana = s.get(Person, ids["ana"])
        repo.add_note(s, ana, alex, "Met Ana; she is doing well.")
        repo.record_audit(s, alex, "view_person", person_id=ana.id)
    with sm.begin() as s:
        repo.delete_person(s, s.get(Person, ids["ana"]))
    with sm.begin() as s:
        assert s.execute(select(PractitionerNote)).scalars().all() == []
        assert {r.person_id for r in s.execute(select(OutcomeReview)).scalars()} == {ids["cara"]}
        (entry,) = s.execute(select(AuditEntry)).scalars().all()
        assert entry.person_id is None and entry.practitioner_name == "alex"
    with sm.begin() as s:
        assert repo.remove_practitioner(s, "alex")
    with sm.begin() as s:
        (entry,) = s.execute(select(AuditEntry)).scalars().all()
        assert entry.practitioner_id is None and entry.practitioner_name == "alex"
        review = s.execute(select(OutcomeReview)).scalar_one()
        assert review.author_name == "alex" and review.practitioner_id is None


def test_review_and_practitioner_validation(sample):
    sm, ids = sample
    with sm.begin() as s:
        alex = repo.get_practitioner_by_name(s, "alex")
        person = s.get(Person, ids["ben"])
        with pytest.raises(ValueError):
            repo.add_review(s, person, alex, "seeing_people", "great")
        with pytest.raises(ValueError):
            repo.add_review(s, person, alex, "not_an_outcome", "not_met")
        with pytest.raises(ValueError):
            repo.add_note(s, person, alex, "   ")
        with pytest.raises(ValueError):
            add_practitioner(s, "alex")
        with pytest.raises(ValueError):
            add_practitioner(s, "two words")
    with pytest.raises(ValueError):
        StatementFilter(outcome="nope")


def test_filtered_exports(sample):
    sm, ids = sample
    with sm.begin() as s:
        out = io.StringIO(newline="")
        export.write_csv(s, out, StatementFilter(role="carer"))
        rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
        assert {r["person_id"] for r in rows} == {str(ids["cara"])}
        assert len(rows) == 2
        out = io.StringIO(newline="")
        export.write_csv(s, out, StatementFilter(outcome="feeling_safe"))
        rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
        assert [r["text"] for r in rows] == ["I want to feel safe at home"]  # removed tag left out
        out = io.StringIO(newline="")
        export.write_csv(s, out, StatementFilter(status="partly"))
        rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
        assert sorted(r["text"] for r in rows) == sorted(
            ["I love seeing my grandchildren", SCRIPT_WORDS]
        )
        data = export.export_data(s, StatementFilter(date_to=date(2025, 1, 31)))
        assert [p["id"] for p in data["people"]] == [ids["ana"]]
        (conversation,) = data["people"][0]["conversations"]
        assert len(conversation["statements"]) == 2
        everything = json.loads(json.dumps(export.export_data(s)))
        assert len(everything["people"]) == 5  # no filter: everyone, as before
        assert export.export_data(s, StatementFilter())["people"] == everything["people"]
    assert set(OUTCOMES) >= {"seeing_people"}
