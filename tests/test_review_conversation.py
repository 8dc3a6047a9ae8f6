"""Review conversations: each answer stored as a dated entry; nothing earlier overwritten."""

from __future__ import annotations

from sqlalchemy import select

from actions.review import (
    ActionAskReviewStatus,
    ActionFinishReview,
    ActionStartNewConversation,
    ActionStartReview,
    ValidateReviewForm,
)
from actions.summary import ActionSaveSummary
from bot.storage import repository as repo
from bot.storage.models import Conversation, Person, ReviewEntry
from tests.rasa_helpers import responses, run, slots_set, tracker
from tests.test_actions import TALKING, heard_two_outcomes

SAVED = {"stage": "saved", "role": "person"}


def saved_conversation() -> None:
    heard_two_outcomes()
    run(ActionSaveSummary(), tracker(text="yes", intent="confirm_summary", slots=TALKING))


def review_turn(slots: dict, slot: str, text: str, intent: str) -> tuple[dict, list]:
    events, messages = run(
        ValidateReviewForm(),
        tracker(
            text=text,
            intent=intent,
            slots={**slots, "requested_slot": slot},
            active_loop="review_form",
        ),
    )
    return slots_set(events), messages


def review_one(slots: dict, status_intent: str, helped: str, not_helped: str, matters: str) -> dict:
    """Answer the four questions for the outcome being asked about; returns the slots after."""
    set_, _ = review_turn(slots, "review_status", "/" + status_intent, status_intent)
    slots = {**slots, **set_}
    for slot, words in (("review_helped", helped), ("review_not_helped", not_helped)):
        intent = "skip" if words == "/skip" else "tell"
        set_, _ = review_turn(slots, slot, words, intent)
        slots = {**slots, **set_}
    set_, _ = review_turn(slots, "review_still_matters", "/" + matters, matters)
    return {**slots, **set_}


def start(slots: dict) -> dict:
    events, _ = run(
        ActionStartReview(), tracker(text="/start_review", intent="start_review", slots=slots)
    )
    slots = {**slots, **slots_set(events)}
    assert slots["stage"] == "reviewing"
    return slots


def ask(slots: dict) -> tuple[dict, list]:
    events, messages = run(
        ActionAskReviewStatus(), tracker(text="x", slots=slots, active_loop="review_form")
    )
    return {**slots, **slots_set(events)}, messages


def test_a_review_quotes_the_words_and_stores_dated_entries(app_db):
    saved_conversation()
    slots, messages = ask(start(dict(SAVED)))
    assert responses(messages) == ["utter_review_intro", "utter_ask_review_status"]
    first = slots["review_outcome"]
    assert messages[1]["quote"]
    slots = review_one(slots, "status_partly", "My daughter rings every night", "/skip", "affirm")
    assert slots["review_status"] is None  # on to the next outcome
    slots, messages = ask(slots)
    assert responses(messages) == ["utter_ask_review_status"]  # no second introduction
    assert slots["review_outcome"] != first
    slots = review_one(slots, "status_not_yet", "/skip", "The agency keeps changing staff", "deny")
    assert slots["review_status"] == "not_met"  # all four filled: the form is done
    with app_db.begin() as s:
        entries = s.execute(select(ReviewEntry).order_by(ReviewEntry.id)).scalars().all()
        assert [
            (e.outcome_id, e.status, e.helped, e.not_helped, e.still_matters) for e in entries
        ] == [
            (first, "partly_met", "My daughter rings every night", None, True),
            (slots["review_outcome"], "not_met", None, "The agency keeps changing staff", False),
        ]
        assert all(e.created_at is not None and e.quote for e in entries)
    _, messages = run(ActionFinishReview(), tracker(text="/affirm", intent="affirm", slots=slots))
    assert responses(messages) == ["utter_review_saved", "utter_ask_anything_new"]


def test_a_second_review_adds_entries_and_keeps_the_first(app_db):
    saved_conversation()
    for status in ("status_not_yet", "status_going_well"):
        slots, _ = ask(start(dict(SAVED)))
        slots = review_one(slots, status, "/skip", "/skip", "affirm")
        slots, _ = ask(slots)
        review_turn(slots, "review_status", "/skip", "skip")
    with app_db.begin() as s:
        statuses = s.execute(select(ReviewEntry.status).order_by(ReviewEntry.id)).scalars().all()
        person = s.execute(select(Person)).scalar_one()
        assert len(repo.review_entries(s, person)) == 4
    assert statuses == ["not_met", "skipped", "fully_met", "skipped"]


def test_nothing_to_review_before_a_saved_conversation(app_db):
    events, messages = run(
        ActionStartReview(), tracker(text="/start_review", intent="start_review", slots=dict(SAVED))
    )
    assert responses(messages) == ["utter_no_review_yet"]
    assert events == []


def test_something_new_opens_a_new_conversation(app_db):
    saved_conversation()
    events, _ = run(
        ActionStartNewConversation(),
        tracker(text="/something_new", intent="something_new", slots=dict(SAVED)),
    )
    assert slots_set(events)["stage"] == "talking"
    with app_db.begin() as s:
        statuses = s.execute(select(Conversation.status).order_by(Conversation.id)).scalars().all()
    assert statuses == ["saved", "open"]


def test_the_review_history_is_in_the_export(app_db):
    import json

    from bot.export import export_data

    saved_conversation()
    slots, _ = ask(start(dict(SAVED)))
    review_one(slots, "status_going_well", "Seeing my neighbour", "/skip", "affirm")
    with app_db.begin() as s:
        data = json.loads(json.dumps(export_data(s)))
    conversation = data["people"][0]["conversations"][0]
    (review,) = conversation["reviews"]
    assert review["status"] == "fully_met" and review["helped"] == "Seeing my neighbour"
    assert review["still_matters"] is True and review["reviewed_at"]
    assert review["quote"] in [st["text"] for st in conversation["statements"]]
