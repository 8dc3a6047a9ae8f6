"""The plain conversation logic the actions call: no Rasa, no database."""

from __future__ import annotations

import pytest

from bot.dialogue.identity import channel_and_user
from bot.dialogue.interruptions import is_interruption
from bot.dialogue.rendering import render_summary
from bot.dialogue.roles import role_from_intent, role_from_words
from bot.dialogue.service import is_finishing, reflection
from bot.dialogue.status import status_from_intent
from bot.dialogue.topics import ANYTHING_ELSE, next_topic, topics_for_role
from bot.dialogue.wording import join_phrases, short_quote
from bot.outcomes.extractor import FoundOutcome
from bot.safety import looks_like_crisis
from bot.storage.repository import SummaryItem


@pytest.mark.parametrize(
    ("intent", "confidence", "text", "expected"),
    [
        ("help", 0.95, "help", True),
        ("stop", 0.9, "can we stop there", True),
        ("tell", 0.99, "I like my garden", False),
        ("greet", 0.9, "Hello! " + "well a good day for me is when my daughter visits " * 3, False),
        ("help", 0.3, "eh", False),
        ("stop", 0.66, "My PAs need to listen to how I like things done", False),
        ("stop", 0.92, "I need to go", True),
        ("distress", 0.4, "I can't go on " * 20, True),
        (None, None, "", False),
    ],
)
def test_side_remarks_are_told_apart_from_answers(intent, confidence, text, expected):
    assert is_interruption(intent, confidence, text) is expected


def test_follow_ups_go_to_what_has_not_been_heard_and_never_repeat():
    assert next_topic("person", set(), []).name == "people"
    assert next_topic("person", {"seeing_people"}, []).name == "support"
    assert next_topic("person", {"seeing_people", "reliability"}, []).name == "change"
    assert next_topic("person", set(), ["people", "support", "change"]) is None
    assert next_topic("pa_employer", {"improved_skills"}, ["people"]).name == "support"
    assert [t.name for t in topics_for_role("carer")] == [
        "cared_for", "own_life", "caring_role", "services",
    ]  # fmt: skip
    assert next_topic("carer", {"cared_for_quality_of_life"}, []).name == "own_life"
    assert ANYTHING_ELSE == "utter_ask_anything_else"


def test_quotes_keep_the_persons_words_and_trim_long_ones():
    assert short_quote("  I love   my garden \n") == "I love my garden"
    long = " ".join(f"w{i}" for i in range(50))
    assert short_quote(long, 5) == "w0 w1 w2 w3 w4\u2026"
    assert join_phrases(["feeling_safe"]) == "feeling safe"
    assert (
        join_phrases(["feeling_safe", "reliability"]) == "feeling safe and support you can rely on"
    )


def test_roles_from_buttons_and_from_words():
    assert role_from_intent("role_carer") == "carer"
    assert role_from_intent("affirm") is None
    assert role_from_words("I look after my dad") == "carer"
    assert role_from_words("I employ two PAs through direct payments") == "pa_employer"
    assert role_from_words("it's for me") == "person"
    assert role_from_words("banana") is None


def test_status_answers():
    assert status_from_intent("status_going_well") == "going_well"
    assert status_from_intent("skip") == "skipped"
    assert status_from_intent("tell") is None


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("done", "that's all", True),
        ("deny", "no", True),
        ("deny", "no, I don't get out much since the bus stopped", False),
        ("tell", "no more buses", False),
    ],
)
def test_finishing_the_open_conversation(intent, text, expected):
    assert is_finishing(intent, text) is expected


def test_reflection_quotes_the_person_and_names_what_was_heard():
    found = [
        FoundOutcome("seeing_people", 0.9, "I miss my grandson"),
        FoundOutcome("feeling_safe", 0.7, "x"),
    ]
    reply = reflection("I miss my grandson", found)
    assert reply.response == "utter_reflect_outcomes"
    assert reply.values == {
        "quote": "I miss my grandson",
        "phrases": "seeing people who matter to you and feeling safe",
    }
    assert reflection("ok", []).response == "utter_reflect_words"
    assert reflection("word " * 80, found).response == "utter_reflect_long"


def test_summary_groups_under_headings_with_the_persons_words_and_status():
    items = [
        SummaryItem("seeing_people", "quality_of_life", ["I miss my grandson"], "not_yet"),
        SummaryItem("having_things_to_do", "quality_of_life", ["the garden"], None),
        SummaryItem("reliability", "process", ["carers come at random times"], "partly"),
    ]
    text = render_summary(items)
    assert text.splitlines() == [
        "What matters in your life",
        "- Seeing people who matter to you (not yet): \u201cI miss my grandson\u201d",
        "- Having things to do: \u201cthe garden\u201d",
        "How you want to be supported",
        "- Support you can rely on (partly): \u201ccarers come at random times\u201d",
    ]


def test_summary_ends_with_the_words_no_outcome_was_heard_in():
    items = [SummaryItem("seeing_people", "quality_of_life", ["I miss my grandson"], None)]
    text = render_summary(items, ["My daughter visits on Sundays", "it's hard since he passed"])
    assert text.splitlines() == [
        "What matters in your life",
        "- Seeing people who matter to you: \u201cI miss my grandson\u201d",
        "Other things you told me",
        "- \u201cMy daughter visits on Sundays\u201d",
        "- \u201cit's hard since he passed\u201d",
    ]
    assert render_summary(items) == "\n".join(text.splitlines()[:2])
    assert render_summary([], ["My daughter visits on Sundays"]) == ""  # no outcome to check


def test_an_emoji_or_punctuation_alone_is_not_listed_as_something_they_told_us():
    items = [SummaryItem("seeing_people", "quality_of_life", ["I miss my grandson"], None)]
    text = render_summary(items, ["\U0001f642", "...", "Mae hi'n braf 🙂", "42"])
    assert text.splitlines()[2:] == [
        "Other things you told me",
        "- \u201cMae hi'n braf 🙂\u201d",
        "- \u201c42\u201d",
    ]
    assert render_summary(items, ["\U0001f642\U0001f44d"]) == "\n".join(text.splitlines()[:2])


def test_sender_ids_carry_the_channel():
    assert channel_and_user("telegram:12345", "rest") == ("telegram", "12345")
    assert channel_and_user("abc123", "rest") == ("rest", "abc123")
    assert channel_and_user("abc123", None) == ("unknown", "abc123")


@pytest.mark.parametrize(
    "text",
    [
        "I want to end it all",
        "i cant go on anymore",
        "He hit me again last night",
        "I've taken too many tablets",
        "my husband is hurting me",
        "I want to kill myself",
    ],
)
def test_plain_crisis_messages_are_recognised(text):
    assert looks_like_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "I feel lonely since my wife died",
        "I keep falling on the stairs",
        "my back is hurting me",
        "I worry he'll fall",
        "",
        None,
    ],
)
def test_ordinary_worries_are_not_a_crisis(text):
    assert not looks_like_crisis(text)


def test_unsure_means_the_likeliest_is_neither_clearly_in_nor_out():
    from bot.dialogue.service import unsure_pair

    band = {"floor": 0.35, "sure": 0.55, "threshold": 0.5}
    scores = {"reliability": (0.45, "q1"), "responded_to": (0.40, "q2"), "listened_to": (0.1, "q3")}
    first, second = unsure_pair(scores, **band)
    assert (first.outcome_id, second.outcome_id) == ("reliability", "responded_to")
    assert unsure_pair({**scores, "reliability": (0.52, "q1")}, **band)  # one, barely heard
    assert unsure_pair({**scores, "reliability": (0.9, "q1")}, **band) is None
    assert unsure_pair({"reliability": (0.2, "q")}, **band) is None
    assert unsure_pair({"reliability": (0.4, "q")}, **band) is None  # only one


def test_two_outcomes_both_heard_are_not_a_choice_between_them():
    from bot.dialogue.service import unsure_pair

    scores = {"reliability": (0.53, "q1"), "responded_to": (0.51, "q2")}
    assert unsure_pair(scores, floor=0.35, sure=0.55, threshold=0.5) is None
    assert unsure_pair(scores, floor=0.35, sure=0.55, threshold=0.52) is not None


def test_very_long_messages_are_kept_with_a_marker():
    from bot.dialogue.service import storable

    assert storable("short") == ("short", False)
    words, shortened = storable("a" * 10_005, limit=10_000)
    assert shortened and words == "a" * 10_000 + " [... 5 more characters not stored]"


def test_a_quote_before_a_full_stop_loses_its_own():
    from bot.dialogue.wording import quote_before_full_stop

    assert quote_before_full_stop("We have tea in the garden.") == "We have tea in the garden"
    assert quote_before_full_stop("Can I go out?") == "Can I go out?"
    assert quote_before_full_stop("and so on...  ") == "and so on"


def test_a_hello_just_after_the_assistant_spoke_is_not_a_welcome_back():
    from bot.dialogue.interruptions import AWAY_AFTER_S, greeting_reply

    def events(gap: float) -> list[dict]:
        return [
            {
                "event": "bot",
                "text": "Is it ok for me to keep what you tell me?",
                "timestamp": 100.0,
            },
            {"event": "action", "name": "action_listen", "timestamp": 100.1},
            {"event": "user", "text": "hello", "timestamp": 100.0 + gap},
        ]

    assert greeting_reply(events(5)) == "utter_hello_here"
    assert greeting_reply(events(AWAY_AFTER_S + 1)) == "utter_welcome_back"  # back the next day
    assert greeting_reply([{"event": "user", "text": "hi"}]) == "utter_welcome_back"
