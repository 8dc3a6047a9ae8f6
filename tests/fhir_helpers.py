"""Data for the FHIR tests (tests/test_fhir_*.py): the review sample, confirmed, with
removals, rewording, two reviews of one outcome, a carer's review and awkward words."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from bot.storage import repository as repo
from bot.storage.models import Conversation, OutcomeStatus, Person
from tests.review_helpers import add_practitioner, build_sample

# Markup, quotes, backslashes, control and separator characters, a JSON-looking tail, emoji.
AWKWARD_WORDS = (
    '<b>I</b> want "my own" key\\door & </script>\n\ttab \u2028line\u2029 {"a": [1]} '
    "caf\u00e9 \U0001f600 ]}"
)
AWKWARD_HELPED = 'My sister\'s "help" <i>mostly</i>\\n and \u00a0{"x": 1}'
APR = datetime(2025, 4, 2, 9, 30, tzinfo=timezone.utc)
JUN = datetime(2025, 6, 20, 14, 0, tzinfo=timezone.utc)
STATUS_AT = datetime(2025, 3, 5, 11, 0, tzinfo=timezone.utc)


def _person(s, ids: dict[str, int], name: str) -> Person:
    return s.get(Person, ids[name])


def build_fhir_sample(s) -> dict[str, int]:
    """The review sample (Ana, Ben, Cara, Dev, Eve) plus Fay (a person with awkward words and
    a conversation not yet confirmed). Everything but Fay's second conversation is saved;
    Cara rewords an outcome; Ana reviews "seeing people" twice (partly, then fully met), Cara
    reviews hers (one skipped). Returns ``{"name": person id}``."""
    ids = build_sample(s)
    alex = add_practitioner(s)
    cara = _person(s, ids, "cara")
    repo.reword_outcome(
        s, cara.conversations[0], "carer_life_of_own", "I'd like one evening a week for me"
    )
    fay = repo.get_or_create_person(s, "telegram", "fay")
    repo.set_role(s, fay, "person")
    c = repo.start_conversation(s, fay)
    repo.add_statement(s, c, AWKWARD_WORDS, tags=[("living_as_you_want", 0.9, None)])
    repo.set_outcome_status(s, c, "living_as_you_want", "partly")
    repo.save_summary(s, c, "summary")
    ids["fay"] = fay.id
    for conversation in s.execute(select(Conversation)).scalars():
        if conversation.status != "saved":
            repo.save_summary(s, conversation, "summary")
    later = repo.start_conversation(s, fay)  # not confirmed yet: no Goals from it
    repo.add_statement(
        s, later, "I might want to move nearer town", tags=[("living_as_you_want", 0.7, None)]
    )
    for row in s.execute(select(OutcomeStatus)).scalars():
        row.recorded_at = STATUS_AT
    ana = _person(s, ids, "ana")
    first = ana.conversations[0]
    for when, status, helped in (
        (APR, "partly_met", "My son drives me over"),
        (JUN, "fully_met", AWKWARD_HELPED),
    ):
        entry = repo.add_review_entry(
            s,
            first,
            "seeing_people",
            quote="I love seeing my grandchildren",
            status=status,
            helped=helped,
            not_helped="The bus on Sundays",
            still_matters=True,
        )
        entry.created_at = when
    cara_c = cara.conversations[0]
    for outcome, status in (
        ("carer_life_of_own", "not_met"),
        ("cared_for_quality_of_life", "skipped"),
    ):
        entry = repo.add_review_entry(s, cara_c, outcome, quote="-", status=status)
        entry.created_at = APR
    repo.add_note(s, ana, alex, 'Ana asked for "Tuesday" visits <please>')
    repo.add_review(s, ana, alex, "seeing_people", "fully_met", "Sees them weekly now")
    s.flush()
    return ids
