"""Export round-trips: people's words come back exactly as they were said."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot import export
from bot.cli import main
from bot.storage import repository as repo

TRICKY = [
    "I miss my dog 🐕‍🦺 and my mum 👩🏽‍🦽 — a lot 💔",
    'He said "no", then \'maybe\', then "fine, whatever"',
    "first line\nsecond line\r\nthird line\rfourth, with a comma",
    "=SUM(A1:A9) +44 7700 900123 @home -minus\ttab",
    "  leading and trailing spaces  ",
    "Dw i eisiau mynd i'r siop ar fy mhen fy hun; mae'n bwysig i mi. Ŵ ŷ â",
    "Tha mi airson a bhith sàbhailte aig an taigh agus fhathast a' faicinn mo chàirdean.",
    "میں اپنے گھر میں محفوظ محسوس کرنا چاہتا ہوں، اور اپنے دوستوں سے ملنا چاہتا ہوں۔",
    ("I want to keep my independence. " * 320)[:10_000],
]


@pytest.fixture
def filled(db_sessionmaker):
    """One person with every tricky text (first tagged twice, last untagged), one empty person."""
    with db_sessionmaker.begin() as s:
        person = repo.get_or_create_person(s, "telegram", "123")
        repo.set_role(s, person, "person")
        repo.record_consent(s, person)
        conversation = repo.start_conversation(s, person)
        for i, text in enumerate(TRICKY):
            tags = []
            if i == 0:
                tags = [("seeing_people", 0.81, text), ("staying_well", 0.52, text)]
            elif i < len(TRICKY) - 1:
                tags = [("feeling_safe", 0.7, text)]
            repo.add_statement(s, conversation, text, message_id=f"m{i}", tags=tags)
        repo.set_outcome_status(s, conversation, "seeing_people", "partly")
        repo.flag_conversation(s, conversation, "distress")
        repo.get_or_create_person(s, "terminal", "nobody-yet")
    return db_sessionmaker


def test_csv_round_trip_keeps_words_verbatim(filled):
    out = io.StringIO(newline="")
    with filled.begin() as s:
        export.write_csv(s, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(rows[0]) == export.CSV_COLUMNS
    # one row per statement-outcome; a statement with no outcome still has a row
    assert len(rows) == len(TRICKY) + 1
    texts = [r["text"] for r in rows]
    assert texts[0] == texts[1] == TRICKY[0]
    assert texts[1:] == TRICKY
    assert len(texts[-1]) == 10_000
    first, second, last = rows[0], rows[1], rows[-1]
    assert (first["outcome_id"], first["outcome_group"], first["outcome_status"]) == (
        "seeing_people",
        "quality_of_life",
        "partly",
    )
    assert float(first["confidence"]) == pytest.approx(0.81)
    assert (second["outcome_id"], second["outcome_status"]) == ("staying_well", "")
    assert last["outcome_id"] == last["confidence"] == last["state"] == ""
    assert last["statement_position"] == str(len(TRICKY))
    assert first["flagged"] == "true" and first["role"] == "person"
    assert first["conversation_reference"].startswith("PO-")
    assert first["created_at"].endswith("+00:00")


def test_json_round_trip_keeps_words_verbatim(filled):
    out = io.StringIO()
    with filled.begin() as s:
        export.write_json(s, out)
    data = json.loads(out.getvalue())
    assert data["exported_at"].endswith("+00:00")
    person, empty = data["people"]
    assert empty["conversations"] == [] and empty["consent_at"] is None
    assert person["role"] == "person" and person["consent_at"]
    assert "channel_user_id" not in person
    (conversation,) = person["conversations"]
    assert conversation["flagged"] is True and conversation["saved_at"] is None
    statements = conversation["statements"]
    assert [st["text"] for st in statements] == TRICKY
    assert [st["position"] for st in statements] == list(range(1, len(TRICKY) + 1))
    assert statements[0]["outcomes"] == [
        {
            "id": "seeing_people",
            "group": "quality_of_life",
            "confidence": pytest.approx(0.81),
            "state": "suggested",
            "status": "partly",
        },
        {
            "id": "staying_well",
            "group": "quality_of_life",
            "confidence": pytest.approx(0.52),
            "state": "suggested",
            "status": None,
        },
    ]
    assert statements[-1]["outcomes"] == []


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_writes_utf8_to_stdout(filled, db_url, capsysbinary, fmt):
    assert main(["export", "--format", fmt, "--url", db_url]) == 0
    text = capsysbinary.readouterr().out.decode("utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        texts = [r["text"] for r in rows]
    else:
        texts = [
            st["text"] for st in json.loads(text)["people"][0]["conversations"][0]["statements"]
        ]
    assert set(texts) == set(TRICKY)


def test_cli_export_of_a_new_database_creates_the_schema(tmp_path, capsysbinary):
    url = f"sqlite:///{tmp_path / 'fresh' / 'outcomes.db'}"
    assert main(["export", "--url", url]) == 0
    assert json.loads(capsysbinary.readouterr().out)["people"] == []
    assert main(["export", "--format", "csv", "--url", url]) == 0
    assert capsysbinary.readouterr().out.decode().strip() == ",".join(export.CSV_COLUMNS)
