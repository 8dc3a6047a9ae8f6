"""Each custom action, run as the action server runs it, against a real migrated database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.consent import ValidateConsentForm
from actions.control import ActionBriefAnswer, ActionPause, ActionResume, ActionStartAgain
from actions.my_data import ActionAskDelete, ActionDeleteMyData, ActionShowMyData
from actions.role import ValidateRoleForm
from actions.safety import ActionHandleDistress
from actions.status import ValidateStatusForm
from actions.story import ActionAddMore, ValidateStoryForm
from actions.summary import (
    ActionRemoveItem,
    ActionRewordItem,
    ActionSaveSummary,
    ActionShowSummary,
    ValidateRewordForm,
)
from bot.storage import repository as repo
from bot.storage.models import Conversation, OutcomeStatus, Person, Statement
from tests.rasa_helpers import responses, run, slots_set, tracker

SENDER = "test:person-1"
TALKING = {"stage": "talking", "role": "person"}


def consent(sender: str = SENDER) -> None:
    events, _ = run(
        ValidateConsentForm(),
        tracker(
            sender,
            text="yes",
            intent="affirm",
            slots={"requested_slot": "consent"},
            active_loop="consent_form",
        ),
    )
    assert slots_set(events)["stage"] == "talking"


def say(text: str, intent: str = "tell", sender: str = SENDER, **slots):
    return run(
        ValidateStoryForm(),
        tracker(
            sender,
            text=text,
            intent=intent,
            slots={**TALKING, "requested_slot": "story", **slots},
            active_loop="story_form",
        ),
    )


def after_remark(action, text: str, intent: str, slots: dict, loop: str, slot: str):
    """Run a form's validation as Rasa does when the form takes over again after a rule
    answered a side remark (the remark is still the latest message)."""
    t = tracker(text=text, intent=intent, slots={**slots, "requested_slot": slot}, active_loop=loop)
    t.events.append({"event": "action", "name": "action_brief_answer"})
    return run(action, t)


def conversation(s) -> Conversation:
    return s.execute(select(Conversation)).scalar_one()


def test_consent_yes_stores_the_person_and_opens_a_conversation(app_db):
    events, messages = run(
        ValidateConsentForm(),
        tracker(
            text="yes please",
            intent="affirm",
            slots={"requested_slot": "consent"},
            active_loop="consent_form",
        ),
    )
    slots = slots_set(events)
    assert slots["consent"] is True and slots["stage"] == "talking"
    with app_db.begin() as s:
        person = s.execute(select(Person)).scalar_one()
        assert (person.channel, person.channel_user_id) == ("test", "person-1")
        assert person.consent_at is not None
        assert conversation(s).reference == slots["reference"]
    assert messages == []


def test_consent_no_stores_nothing(app_db):
    events, _ = run(
        ValidateConsentForm(),
        tracker(
            text="no thanks",
            intent="deny",
            slots={"requested_slot": "consent"},
            active_loop="consent_form",
        ),
    )
    assert slots_set(events) == {"consent": False, "stage": "declined"}
    with app_db.begin() as s:
        assert s.execute(select(Person)).first() is None


def test_unclear_consent_is_asked_again_kindly(app_db):
    events, messages = run(
        ValidateConsentForm(),
        tracker(
            text="what's the weather like",
            intent="tell",
            slots={"requested_slot": "consent"},
            active_loop="consent_form",
        ),
    )
    assert slots_set(events) == {"consent": None}
    assert responses(messages) == ["utter_consent_unclear"]


def test_a_side_remark_is_left_for_the_rules(app_db):
    events, messages = run(
        ValidateConsentForm(),
        tracker(
            text="help",
            intent="help",
            slots={"requested_slot": "consent"},
            active_loop="consent_form",
        ),
    )
    assert events == [] and messages == []


@pytest.mark.parametrize(
    ("text", "intent", "role"),
    [
        ("I look after someone", "role_carer", "carer"),
        ("I look after my mum most days", "tell", "carer"),
        ("I employ PAs", "role_pa_employer", "pa_employer"),
    ],
)
def test_role_from_button_or_words_is_stored(app_db, text, intent, role):
    consent()
    events, _ = run(
        ValidateRoleForm(),
        tracker(
            text=text,
            intent=intent,
            slots={"requested_slot": "role", "stage": "talking"},
            active_loop="role_form",
        ),
    )
    assert slots_set(events)["role"] == role
    with app_db.begin() as s:
        assert s.execute(select(Person.role)).scalar_one() == role
        assert conversation(s).role == role


def test_unclear_role_is_asked_again(app_db):
    consent()
    events, messages = run(
        ValidateRoleForm(),
        tracker(
            text="purple",
            intent="tell",
            slots={"requested_slot": "role", "stage": "talking"},
            active_loop="role_form",
        ),
    )
    assert slots_set(events) == {"role": None}
    assert responses(messages) == ["utter_role_unclear"]


def test_story_is_stored_verbatim_with_outcomes_and_reflected(app_db):
    consent()
    words = "I miss my friends, I never see anyone these days \U0001f614"
    events, messages = say(words)
    assert slots_set(events)["story"] is None  # the form keeps listening
    with app_db.begin() as s:
        statement = s.execute(select(Statement)).scalar_one()
        assert statement.text == words
        heard = [t.outcome_id for t in statement.tags]
    assert "seeing_people" in heard
    assert slots_set(events)["pending_status"] is True
    # reflected back, then the next question in the same reply: people were heard already
    assert responses(messages) == ["utter_reflect_outcomes", "utter_followup_support"]
    assert messages[0]["quote"] and "seeing people" in messages[0]["phrases"]
    assert slots_set(events)["asked_topics"] == ["support"]


def test_the_same_message_delivered_twice_is_stored_once(app_db):
    consent()
    t = tracker(
        text="I love my garden",
        slots={**TALKING, "requested_slot": "story"},
        active_loop="story_form",
        message_id="m-1",
    )
    run(ValidateStoryForm(), t)
    run(
        ValidateStoryForm(),
        tracker(
            text="I love my garden",
            slots={**TALKING, "requested_slot": "story"},
            active_loop="story_form",
            message_id="m-1",
        ),
    )
    with app_db.begin() as s:
        assert len(s.execute(select(Statement)).all()) == 1


def test_a_long_story_that_starts_with_hello_is_still_heard(app_db):
    consent()
    story = "Hello! Well, " + "my daughter comes on a Sunday and we go to the park, " * 4
    events, _ = say(story, intent="greet")
    assert "story" in slots_set(events)
    with app_db.begin() as s:
        assert s.execute(select(Statement.text)).scalar_one() == story


def test_thats_all_finishes_only_once_something_was_said(app_db):
    consent()
    events, messages = say("that's all", intent="done")
    assert slots_set(events) == {"story": None, "last_prompt": "utter_opening"}
    assert responses(messages) == ["utter_need_one_thing"]
    say("My neighbour pops in most days and that keeps me going")
    events, messages = say("that's all", intent="done")
    assert slots_set(events)["story"] == "done"
    assert messages == []  # the story form is done: the status questions come next
    with app_db.begin() as s:
        assert [t for (t,) in s.execute(select(Statement.text))] == [
            "My neighbour pops in most days and that keeps me going"
        ]


def test_i_dont_know_is_kept_and_answered_with_examples(app_db):
    consent()
    events, messages = say("I don't know", intent="dont_know")
    assert responses(messages) == ["utter_examples"]  # no reflection of "I don't know"


def test_follow_ups_move_to_what_has_not_been_heard(app_db):
    consent()
    # the form opens (no active loop yet): it asks the opening and names its slot, so Rasa
    # does not run the validation a second time
    events, first = run(
        ValidateStoryForm(), tracker(text="I get support", intent="role_person", slots=TALKING)
    )
    assert responses(first) == ["utter_opening"]
    assert slots_set(events) == {"last_prompt": "utter_opening", "requested_slot": "story"}
    events, asked = say("My sister visits every week and I love seeing her")
    assert responses(asked)[-1] == "utter_followup_support"  # people already heard
    assert slots_set(events)["asked_topics"] == ["support"]
    slots = {**TALKING, "last_prompt": "utter_followup_support", "asked_topics": ["support"]}
    # a side remark straight after the question: nothing taken, nothing said, so Rasa hands
    # the message to the rules
    assert say("help", intent="help", **slots) == ([], [])
    _, again = after_remark(ValidateStoryForm(), "help", "help", slots, "story_form", "story")
    assert responses(again) == ["utter_followup_support"]  # after a side remark, the same question


def test_storage_failure_is_told_honestly_and_keeps_the_question_open(monkeypatch, app_db):
    consent()
    from bot.settings import get_settings
    from bot.storage.db import dispose_default

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    dispose_default()
    events, messages = say("I like the bowls club")
    assert slots_set(events) == {"story": None}
    assert responses(messages) == ["utter_storage_trouble"]  # once, and no new question


def heard_two_outcomes() -> None:
    consent()
    say("I miss my friends, I never see anyone these days")
    say("The carers come at different times every day, I never know when")


def test_status_is_asked_for_each_outcome_quoting_the_person(app_db):
    heard_two_outcomes()
    events, messages = run(  # the status form opens after "that's all"
        ValidateStatusForm(), tracker(text="that's all", intent="done", slots=TALKING)
    )
    asked = slots_set(events)["status_outcome"]
    assert responses(messages) == ["utter_status_intro", "utter_ask_status"]
    assert "my friends" in messages[1]["quote"]
    assert slots_set(events)["requested_slot"] == "status_answer"
    events, messages = run(
        ValidateStatusForm(),
        tracker(
            text="/status_partly",
            intent="status_partly",
            slots={**TALKING, "requested_slot": "status_answer", "status_outcome": asked},
            active_loop="status_form",
        ),
    )
    assert slots_set(events)["status_answer"] is None  # more to ask
    assert responses(messages) == ["utter_ask_status"]  # the next one, without the intro
    assert slots_set(events)["status_outcome"] not in (None, asked)
    with app_db.begin() as s:
        assert s.execute(select(OutcomeStatus.outcome_id, OutcomeStatus.status)).all() == [
            (asked, "partly")
        ]


def test_free_words_instead_of_a_status_are_kept(app_db):
    heard_two_outcomes()
    events, messages = run(
        ValidateStatusForm(),
        tracker(
            text="well it depends on the week really",
            intent="tell",
            slots={**TALKING, "requested_slot": "status_answer", "status_outcome": "seeing_people"},
            active_loop="status_form",
        ),
    )
    # the same outcome is asked about again
    assert slots_set(events) == {"status_answer": None, "status_outcome": "seeing_people"}
    assert responses(messages) == ["utter_status_kept_words", "utter_ask_status"]
    with app_db.begin() as s:
        assert (
            "well it depends on the week really"
            in s.execute(select(Statement.text)).scalars().all()
        )


def test_summary_and_saved_record_keep_the_words_no_outcome_was_heard_in(app_db):
    heard_two_outcomes()
    with app_db.begin() as s:
        repo.add_statement(s, conversation(s), "My daughter visits on Sundays")
    _, messages = run(ActionShowSummary(), tracker(text="skip", intent="skip", slots=TALKING))
    shown = messages[0]["summary"].splitlines()
    assert shown[-2:] == ["Other things you told me", "- \u201cMy daughter visits on Sundays\u201d"]
    run(ActionSaveSummary(), tracker(text="yes", intent="confirm_summary", slots=TALKING))
    with app_db.begin() as s:
        assert conversation(s).summary.body.splitlines() == shown


def test_summary_shows_words_and_saving_gives_a_reference(app_db):
    heard_two_outcomes()
    _, messages = run(ActionShowSummary(), tracker(text="skip", intent="skip", slots=TALKING))
    assert responses(messages) == ["utter_summary"]
    assert "\u201cI miss my friends" in messages[0]["summary"]
    events, messages = run(
        ActionSaveSummary(), tracker(text="yes", intent="confirm_summary", slots=TALKING)
    )
    assert responses(messages) == ["utter_saved", "utter_goodbye_saved"]
    reference = slots_set(events)["reference"]
    assert slots_set(events)["stage"] == "saved"
    with app_db.begin() as s:
        c = conversation(s)
        assert (c.reference, c.status) == (reference, "saved")
        assert c.summary.body and all(
            t.state == "confirmed" for st in c.statements for t in st.tags
        )


def test_removing_an_item_asks_which_then_takes_it_out(app_db):
    heard_two_outcomes()
    _, messages = run(
        ActionRemoveItem(), tracker(text="take something out", intent="remove_item", slots=TALKING)
    )
    assert responses(messages) == ["utter_ask_which_remove"]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/remove_item{"outcome": "seeing_people"}' in payloads
    entity = [{"entity": "outcome", "value": "seeing_people"}]
    _, messages = run(
        ActionRemoveItem(),
        tracker(text=payloads[0], intent="remove_item", entities=entity, slots=TALKING),
    )
    assert responses(messages)[0] == "utter_removed"
    with app_db.begin() as s:
        assert "seeing_people" not in repo.outcomes_heard(s, conversation(s))
        assert len(s.execute(select(Statement)).all()) == 2  # the words stay


def test_rewording_keeps_the_old_words_and_adds_the_new(app_db):
    heard_two_outcomes()
    entity = [{"entity": "outcome", "value": "reliability"}]
    events, _ = run(
        ActionRewordItem(),
        tracker(text="/reword_item", intent="reword_item", entities=entity, slots=TALKING),
    )
    assert slots_set(events)["reword_target"] == "reliability"
    events, messages = run(
        ValidateRewordForm(),
        tracker(
            text="I need to know when the carers are coming",
            slots={**TALKING, "requested_slot": "new_wording", "reword_target": "reliability"},
            active_loop="reword_form",
        ),
    )
    assert slots_set(events)["reword_target"] is None
    assert responses(messages) == ["utter_reworded"]
    with app_db.begin() as s:
        items = {i.outcome_id: i.quotes for i in repo.summary_items(s, conversation(s))}
        assert items["reliability"] == ["I need to know when the carers are coming"]
        assert len(s.execute(select(Statement)).all()) == 3


def test_words_after_the_summary_are_kept_as_more(app_db):
    heard_two_outcomes()
    events, _ = run(
        ActionAddMore(), tracker(text="Oh and I'd love to get back to swimming", slots=TALKING)
    )
    assert slots_set(events) == {"story": None}
    with app_db.begin() as s:
        assert (
            "Oh and I'd love to get back to swimming"
            in s.execute(select(Statement.text)).scalars().all()
        )


def test_brief_answers_are_one_line():
    _, messages = run(ActionBriefAnswer(), tracker(text="are you a robot", intent="chitchat_bot"))
    assert responses(messages) == ["utter_iamabot"]
    _, messages = run(
        ActionBriefAnswer(), tracker(text="what's the football score", intent="out_of_scope")
    )
    assert responses(messages) == ["utter_out_of_scope"]


def test_pause_remembers_the_question_and_resume_reopens_it(app_db):
    consent()
    events, messages = run(
        ActionPause(),
        tracker(
            text="stop",
            intent="stop",
            slots={**TALKING, "requested_slot": "story"},
            active_loop="story_form",
        ),
    )
    assert responses(messages) == ["utter_paused"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert slots_set(events) == {
        "requested_slot": None,
        "paused_loop": "story_form",
        "stage": "paused",
    }
    with app_db.begin() as s:
        assert conversation(s).status == "paused"
    events, messages = run(
        ActionResume(),
        tracker(
            text="carry on", intent="resume", slots={"stage": "paused", "paused_loop": "story_form"}
        ),
    )
    assert responses(messages) == ["utter_welcome_back"]
    assert slots_set(events) == {"stage": "talking"}
    with app_db.begin() as s:
        assert conversation(s).status == "open"


def test_start_again_keeps_the_words_and_resets_the_conversation(app_db):
    heard_two_outcomes()
    events, _ = run(
        ActionStartAgain(),
        tracker(text="start again", intent="start_again", slots=TALKING, active_loop="story_form"),
    )
    assert {"event": "reset_slots", "timestamp": None} in events
    with app_db.begin() as s:
        assert conversation(s).status == "restarted"
        assert len(s.execute(select(Statement)).all()) == 2


def test_distress_gets_help_now_pauses_and_flags(app_db, monkeypatch):
    from bot.settings import get_settings

    monkeypatch.setenv("CRISIS_HELP_TEXT", "Call the test line on 0000.")
    get_settings.cache_clear()
    consent()
    events, messages = run(
        ActionHandleDistress(),
        tracker(
            text="I can't go on anymore",
            intent="distress",
            slots={**TALKING, "requested_slot": "story"},
            active_loop="story_form",
        ),
    )
    assert responses(messages) == ["utter_crisis"]
    assert messages[0]["help_text"] == "Call the test line on 0000."
    assert slots_set(events)["stage"] == "paused"
    with app_db.begin() as s:
        c = conversation(s)
        assert c.flagged and c.flag_reason == "distress"
        assert [(st.text, st.source) for st in c.statements] == [
            ("I can't go on anymore", "distress")
        ]


def test_distress_before_consent_stores_nothing(app_db):
    _, messages = run(
        ActionHandleDistress(), tracker(text="I want to end it all", intent="distress")
    )
    assert responses(messages) == ["utter_crisis"]
    with app_db.begin() as s:
        assert s.execute(select(Statement)).first() is None


def test_show_my_data_and_delete_it(app_db):
    _, messages = run(ActionShowMyData(), tracker(text="show my data", intent="show_my_data"))
    assert responses(messages) == ["utter_nothing_stored"]
    heard_two_outcomes()
    _, messages = run(
        ActionShowMyData(), tracker(text="show my data", intent="show_my_data", slots=TALKING)
    )
    assert "I miss my friends" in messages[0]["record"]
    events, messages = run(
        ActionAskDelete(),
        tracker(
            text="delete my data", intent="delete_my_data", slots=TALKING, active_loop="story_form"
        ),
    )
    assert responses(messages) == ["utter_ask_delete"]
    assert slots_set(events)["paused_loop"] == "story_form"
    _, messages = run(ActionDeleteMyData(), tracker(text="yes", intent="affirm", slots=TALKING))
    assert responses(messages) == ["utter_deleted"]
    with app_db.begin() as s:
        assert s.execute(select(Person)).first() is None
        assert s.execute(select(Statement)).first() is None


def test_a_typed_status_is_stored_with_the_persons_words(app_db):
    heard_two_outcomes()
    run(
        ValidateStatusForm(),
        tracker(
            text="it depends on the week",
            intent="status_partly",
            slots={**TALKING, "requested_slot": "status_answer", "status_outcome": "seeing_people"},
            active_loop="status_form",
        ),
    )
    with app_db.begin() as s:
        assert "it depends on the week" in s.execute(select(Statement.text)).scalars().all()
        assert s.execute(select(OutcomeStatus.status)).scalar_one() == "partly"


def test_not_understood_answers_and_waits():
    from actions.control import ActionNotUnderstood

    events, messages = run(ActionNotUnderstood(), tracker(text="/skip", intent="skip"))
    assert responses(messages) == ["utter_not_understood"]
    assert messages[0]["buttons"] == []  # nothing was offered, so nothing to offer again
    assert events == [{"event": "rewind", "timestamp": None}]


def test_not_understood_offers_the_same_choices_again():
    from actions.control import ActionNotUnderstood

    offered = [
        {"title": "Yes, save it", "payload": "/confirm_summary"},
        {"title": "Add more", "payload": "/add_more"},
    ]
    t = tracker(text="4", intent="nlu_fallback")
    t.events[:0] = [
        {"event": "bot", "text": "Shall I save it?", "data": {"buttons": offered}},
        {"event": "action", "name": "action_listen"},
    ]
    _, messages = run(ActionNotUnderstood(), t)
    assert responses(messages) == ["utter_not_understood"]
    assert messages[0]["buttons"] == offered


@pytest.mark.parametrize(
    ("action", "slot", "loop", "question"),
    [
        (ValidateStoryForm, "story", "story_form", ["utter_go_ahead"]),
        (
            ValidateStatusForm,
            "status_answer",
            "status_form",
            ["utter_status_intro", "utter_ask_status"],
        ),
        (ValidateRewordForm, "new_wording", "reword_form", ["utter_reword_question"]),
    ],
)
def test_a_reset_slot_when_a_form_opens_stores_nothing(app_db, action, slot, loop, question):
    heard_two_outcomes()
    t = tracker(
        text="/add_more",
        intent="add_more",
        slots={**TALKING, "reword_target": "reliability"},
        active_loop=loop,
    )
    t.events.append({"event": "slot", "name": slot, "value": None})
    events, messages = run(action(), t)
    assert slots_set(events)[slot] is None
    assert responses(messages) == question  # the form's question, and nothing else
    with app_db.begin() as s:
        assert "None" not in s.execute(select(Statement.text)).scalars().all()
        assert len(s.execute(select(Statement)).all()) == 2


def test_thats_all_during_the_status_questions_skips_the_rest(app_db):
    heard_two_outcomes()
    events, _ = run(
        ValidateStatusForm(),
        tracker(
            text="that's all",
            intent="done",
            slots={**TALKING, "requested_slot": "status_answer", "status_outcome": "seeing_people"},
            active_loop="status_form",
        ),
    )
    assert slots_set(events)["status_answer"] == "done"
    with app_db.begin() as s:
        assert set(s.execute(select(OutcomeStatus.status)).scalars()) == {"skipped"}
        assert len(s.execute(select(OutcomeStatus)).all()) == 2


def test_after_a_pause_the_same_question_is_asked_again(app_db):
    consent()
    say("My sister visits every week and I love seeing her")
    slots = {**TALKING, "last_prompt": "utter_followup_support", "asked_topics": ["support"]}
    # back after "carry on": the form opens again, nothing answered
    _, asked = run(ValidateStoryForm(), tracker(text="no", intent="deny", slots=slots))
    assert responses(asked) == ["utter_followup_support"]
    _, asked = say("They should knock first", **slots)
    assert responses(asked)[-1] == "utter_followup_change"


def test_a_question_saved_under_its_old_name_is_asked_under_the_new_one(app_db):
    consent()
    slots = {**TALKING, "last_prompt": "utter_ask_story"}  # a conversation from before the rename
    _, asked = after_remark(ValidateStoryForm(), "thanks", "thanks", slots, "story_form", "story")
    assert responses(asked) == ["utter_opening"]


def test_goodbye_mid_conversation_is_a_pause(app_db):
    from actions.control import ActionGoodbye

    consent()
    t = tracker(text="bye", intent="goodbye", slots=TALKING, active_loop="story_form")
    events, messages = run(ActionGoodbye(), t)
    assert responses(messages) == ["utter_goodbye"]
    assert slots_set(events)["stage"] == "paused"
    _, messages = run(
        ActionGoodbye(), tracker(text="bye", intent="goodbye", slots={"stage": "saved"})
    )
    assert responses(messages) == ["utter_goodbye_plain"]


def test_rewording_quotes_the_current_words(app_db):
    heard_two_outcomes()
    t = tracker(
        text="/reword_item", intent="reword_item", slots={**TALKING, "reword_target": "reliability"}
    )
    _, messages = run(ValidateRewordForm(), t)  # the reword form opens
    assert responses(messages) == ["utter_reword_question"]
    assert messages[0]["quote"] == "The carers come at different times every day, I never know when"


def test_rewording_when_storage_is_down_says_so_once_and_asks_nothing(monkeypatch, app_db):
    heard_two_outcomes()
    from bot.settings import get_settings
    from bot.storage.db import dispose_default

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    dispose_default()
    t = tracker(
        text="/reword_item", intent="reword_item", slots={**TALKING, "reword_target": "reliability"}
    )
    _, messages = run(ValidateRewordForm(), t)
    assert responses(messages) == ["utter_storage_trouble"]  # not a question quoting nothing


@pytest.fixture
def always_unsure(monkeypatch):
    """Make every statement fall in the extractor's unsure band."""
    from bot.settings import get_settings

    monkeypatch.setenv("OUTCOME_SURE", "1.01")
    monkeypatch.setenv("OUTCOME_UNSURE_FLOOR", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_when_unsure_the_assistant_asks_which_and_tags_the_choice(app_db, always_unsure):
    consent()
    events, messages = say("The carers come at different times every day, I never know when")
    clarify = slots_set(events)["clarify"]
    options = list(clarify["options"])
    assert len(options) == 2 and "reliability" in options
    with app_db.begin() as s:
        assert s.execute(select(Statement)).scalar_one().tags == []
    asked = messages
    assert responses(asked) == ["utter_ask_clarify"]  # no guess reflected back, a question
    assert [b["payload"] for b in asked[0]["buttons"]][-1] == '/clarify{"outcome": "none"}'
    assert slots_set(events)["last_prompt"] == "utter_ask_clarify"
    entity = [{"entity": "outcome", "value": "reliability"}]
    events, messages = run(
        ValidateStoryForm(),
        tracker(
            text='/clarify{"outcome": "reliability"}',
            intent="clarify",
            entities=entity,
            slots={**TALKING, "requested_slot": "story", "clarify": clarify},
            active_loop="story_form",
        ),
    )
    assert responses(messages) == ["utter_clarified", "utter_followup_people"]
    assert slots_set(events)["clarify"] is None
    with app_db.begin() as s:
        tags = s.execute(select(Statement)).scalar_one().tags
        assert [(t.outcome_id, t.state, t.confidence) for t in tags] == [
            ("reliability", "confirmed", 1.0)
        ]
        assert len(s.execute(select(Statement)).all()) == 1  # the button press is not words


def test_something_else_keeps_the_words_untagged(app_db, always_unsure):
    consent()
    events, _ = say("The carers come at different times every day, I never know when")
    clarify = slots_set(events)["clarify"]
    entity = [{"entity": "outcome", "value": "none"}]
    _, messages = run(
        ValidateStoryForm(),
        tracker(
            text='/clarify{"outcome": "none"}',
            intent="clarify",
            entities=entity,
            slots={**TALKING, "requested_slot": "story", "clarify": clarify},
            active_loop="story_form",
        ),
    )
    assert responses(messages) == ["utter_clarify_none", "utter_followup_people"]
    with app_db.begin() as s:
        assert s.execute(select(Statement)).scalar_one().tags == []


def test_thats_all_in_reply_to_the_clarifying_question_finishes_and_drops_it(app_db, always_unsure):
    consent()
    events, _ = say("The carers come at different times every day, I never know when")
    clarify = slots_set(events)["clarify"]
    events, messages = say("that's all", intent="done", clarify=clarify)
    assert slots_set(events)["story"] == "done"
    assert slots_set(events)["clarify"] is None  # not asked again if they add more later
    assert messages == []
    with app_db.begin() as s:
        statement = s.execute(select(Statement)).scalar_one()
        assert statement.text.startswith("The carers come") and statement.tags == []


def test_never_two_clarifying_questions_in_a_row(app_db, always_unsure):
    consent()
    events, messages = say("I miss my friends, I never see anyone", last_prompt="utter_ask_clarify")
    assert "clarify" not in slots_set(events) or slots_set(events)["clarify"] is None
    assert responses(messages) == ["utter_reflect_outcomes", "utter_followup_support"]


def test_a_very_long_story_is_kept_in_part_and_the_person_told(app_db):
    consent()
    story = "My garden is my joy. " * 1000  # 21,000 characters
    _, messages = say(story)
    assert responses(messages)[0] == "utter_long_message_kept"
    with app_db.begin() as s:
        stored = s.execute(select(Statement.text)).scalar_one()
    assert stored.startswith(story[:10_000]) and stored.endswith(
        "11000 more characters not stored]"
    )


def test_talking_after_a_pause_carries_on_and_keeps_the_words(app_db):
    consent()
    t = tracker(
        text="I'd love to get back to swimming",
        slots={"stage": "paused", "paused_loop": "story_form"},
    )
    events, messages = run(ActionResume(), t)
    assert slots_set(events) == {"stage": "talking", "requested_slot": "story"}
    assert messages == []  # no "welcome back": the form takes their words as the answer
