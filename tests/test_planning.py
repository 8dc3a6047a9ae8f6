"""The PA employer's Personal Outcomes Plan, rendered from stored data."""

from __future__ import annotations

from sqlalchemy import select

from actions.planning import ActionSendPlan
from actions.summary import ActionSaveSummary
from bot.channels.terminal import save_document
from bot.planning.plan import build_plan, render_html, render_markdown
from bot.storage import repository as repo
from bot.storage.models import Conversation
from tests.rasa_helpers import responses, run, tracker
from tests.test_actions import consent, say

PA = {"stage": "talking", "role": "pa_employer"}
WORDS = {
    "quality": "I miss my friends, I never see anyone these days",
    "process": "The carers come at different times every day, I never know when",
    "change": "I'd love to be able to cook my own tea again <b>properly</b> & safely",
}


def saved_pa_conversation(app_db) -> str:
    consent("test:pa-1")
    for words in WORDS.values():
        say(words, sender="test:pa-1", **PA)
    with app_db.begin() as s:
        conversation = s.execute(select(Conversation)).scalar_one()
        conversation.role = "pa_employer"
        if "improved_skills" not in repo.outcomes_heard(s, conversation):
            statement = conversation.statements[-1]
            repo.tag_statement(s, conversation, statement.id, "improved_skills")
    _, messages = run(ActionSaveSummary(), tracker("test:pa-1", text="yes", slots=PA))
    assert responses(messages) == ["utter_saved", "utter_offer_plan"]
    return "test:pa-1"


def test_the_plan_holds_the_persons_words_in_three_sections(app_db):
    saved_pa_conversation(app_db)
    with app_db.begin() as s:
        conversation = s.execute(select(Conversation)).scalar_one()
        plan = build_plan(conversation.reference, repo.summary_items(s, conversation))
    text = render_markdown(plan)
    for heading in (
        "## What matters to me",
        "## How I want to be supported",
        "## What I want to change",
    ):
        assert heading in text
    for words in WORDS.values():
        assert words in text
    sections = dict(plan.sections)
    assert "seeing_people" in [i.outcome_id for i in sections["What matters to me"]]
    assert all(i.outcome_id not in ("reliability",) for i in sections["What matters to me"])
    assert "reliability" in [
        i.outcome_id
        for i in sections["How I want to be supported and treated: guidance for my PAs"]
    ]
    assert "How do you make sure you are on time" in text  # an interview question for it
    assert "self-employed" in text and "training on personal outcomes" in text
    assert "Personal Assistant who will support me" in plan.job_description


def test_the_html_plan_escapes_words_and_prints_cleanly(app_db):
    saved_pa_conversation(app_db)
    with app_db.begin() as s:
        conversation = s.execute(select(Conversation)).scalar_one()
        page = render_html(build_plan(conversation.reference, repo.summary_items(s, conversation)))
    assert "&lt;b&gt;properly&lt;/b&gt; &amp; safely" in page
    assert "<b>properly</b>" not in page
    assert "@media print" in page


def test_the_plan_is_sent_in_the_chat_and_as_a_document(app_db, tmp_path):
    sender = saved_pa_conversation(app_db)
    _, messages = run(
        ActionSendPlan(), tracker(sender, text="/get_plan", intent="get_plan", slots=PA)
    )
    assert responses(messages) == ["utter_plan", None]
    assert WORDS["quality"] in messages[0]["plan"]
    assert "\n\n" not in messages[0]["plan"]  # one chat message, not split at blank lines
    document = messages[1]["custom"]["document"]
    assert document["filename"].startswith("personal-outcomes-plan-PO-")
    note = save_document(document, tmp_path)
    assert (tmp_path / f"{document['filename']}.md").read_text() == document["markdown"]
    assert ".html" in note


def test_no_plan_before_anything_is_saved(app_db):
    _, messages = run(ActionSendPlan(), tracker("test:nobody", text="/get_plan", intent="get_plan"))
    assert responses(messages) == ["utter_no_plan_yet"]
