"""A whole conversation through Rasa's REST channel, with the real Rasa and action servers,
then the database read back: every statement stored verbatim with its outcome ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.channels.rasa_client import BotMessage, RasaClient
from bot.servers import rasa_env, running_servers
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import Conversation, Person, ReviewEntry, Statement
from tests.assistant import fresh_assistant
from tests.ports import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Iterator[tuple[RasaClient, str]]:
    """Rasa + action server on free ports, with their own fresh databases."""
    var = tmp_path_factory.mktemp("e2e")
    with fresh_assistant(var) as (servers, db_url):
        client = RasaClient(servers.rasa_url)
        yield client, db_url
        client.close()


def texts(replies: list[BotMessage]) -> str:
    return "\n".join(r.text for r in replies)


def payloads(replies: list[BotMessage]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


STORY = [
    "A good day is when my daughter comes round and we have a cup of tea in the garden.",
    "I'd love to get back to the swimming baths, I used to go every Tuesday \U0001f3ca",
    "The carers turn up at different times every day so I never know when I'll get up.",
]


def test_a_whole_conversation_is_stored_verbatim_with_outcomes(assistant):
    client, db_url = assistant
    sender = "e2e:whole-conversation"

    replies = client.send(sender, "/greet")
    assert "Talking Points assistant" in texts(replies)
    assert payloads(replies) == ["/affirm", "/deny"]

    replies = client.send(sender, "yes that's fine")
    assert "/role_person" in payloads(replies)

    replies = client.send(sender, "/role_person")
    assert "what does a good day look like" in texts(replies)

    for line in STORY:
        replies = client.send(sender, line)
        choices = [p for p in payloads(replies) if p.startswith("/clarify")]
        if choices:  # unsure: "is that more about A or B?" - the person picks
            replies = client.send(
                sender, next((p for p in choices if "seeing_people" in p), choices[0])
            )
        assert texts(replies).startswith("Thank you")

    replies = client.send(sender, "that's all")
    asked = 0
    while "/status_going_well" in payloads(replies):
        asked += 1
        replies = client.send(sender, "/status_partly" if asked == 1 else "/skip")
        assert asked < 10
    assert asked >= 2
    assert "Here's what I heard" in texts(replies)
    assert "\u201cThe carers turn up at different times every day" in texts(replies)

    replies = client.send(sender, "/confirm_summary")
    assert "your reference is PO-" in texts(replies)

    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        person = s.execute(select(Person).where(Person.channel == "e2e")).scalar_one()
        assert person.role == "person" and person.consent_at is not None
        conversation = s.execute(select(Conversation)).scalar_one()
        assert conversation.status == "saved" and conversation.reference in texts(replies)
        statements = s.execute(select(Statement).order_by(Statement.position)).scalars().all()
        assert [st.text for st in statements] == STORY
        tags = {st.text: {t.outcome_id for t in st.tags} for st in statements}
        assert "seeing_people" in tags[STORY[0]]
        assert "reliability" in tags[STORY[2]]
        assert all(t.state == "confirmed" for st in statements for t in st.tags)
    engine.dispose()


def test_refusing_consent_stores_nothing(assistant):
    client, db_url = assistant
    sender = "e2e:refuses"
    client.send(sender, "hello")
    replies = client.send(sender, "no thanks")
    assert "I haven't kept anything" in texts(replies)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        assert s.execute(select(Person).where(Person.channel_user_id == "refuses")).first() is None
    engine.dispose()


def test_pause_and_carry_on_later(assistant):
    client, _ = assistant
    sender = "e2e:pauses"
    client.send(sender, "hi")
    client.send(sender, "/affirm")
    client.send(sender, "I look after my husband")
    replies = client.send(sender, "can we stop there for now")
    assert "let's pause there" in texts(replies)
    replies = client.send(sender, "carry on")
    assert "Welcome back" in texts(replies)
    assert "good day look like for you both" in texts(replies)  # the carer's opening question


def test_distress_gets_help_now(assistant):
    client, db_url = assistant
    sender = "e2e:distress"
    client.send(sender, "hi")
    client.send(sender, "/affirm")
    client.send(sender, "/role_person")
    replies = client.send(sender, "i cant go on anymore, i want to end it all")
    assert "116 123" in texts(replies)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        person = s.execute(select(Person).where(Person.channel_user_id == "distress")).scalar_one()
        conversation = s.execute(
            select(Conversation).where(Conversation.person_id == person.id)
        ).scalar_one()
        assert conversation.flagged
    engine.dispose()


def test_a_conversation_survives_a_restart_of_both_servers(tmp_path):
    """The tracker store, not process memory, holds where the person is."""
    db_url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    upgrade(db_url)
    rasa_port, actions_port = free_port(), free_port()
    env = rasa_env(
        rasa_port=rasa_port,
        actions_port=actions_port,
        extra={"DATABASE_URL": db_url, "TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}"},
    )
    run = dict(
        rasa_port=rasa_port, actions_port=actions_port, env=env, log_dir=tmp_path, timeout=180
    )
    sender = "e2e:comes-back"
    with running_servers(**run) as servers:
        client = RasaClient(servers.rasa_url)
        client.send(sender, "hello")
        client.send(sender, "/affirm")
        client.send(sender, "/role_person")
        client.send(sender, "I go to the bowls club on Thursdays and I love it")
    with running_servers(**run) as servers:
        client = RasaClient(servers.rasa_url)
        replies = client.send(sender, "My grandson visits at the weekend")
        # still in the open conversation: a reflection, or "is that more about A or B?"
        assert texts(replies).startswith(("Thank you", "Just so I've got it right"))
        replies = client.send(sender, "that's all")
        assert "/status_going_well" in payloads(replies)


def talk_until_saved(client: RasaClient, sender: str, role_payload: str, story: list[str]) -> list:
    """Consent, role, the story, skip the status questions, confirm; returns the last replies."""
    client.send(sender, "hello")
    client.send(sender, "/affirm")
    client.send(sender, role_payload)
    for line in story:
        replies = client.send(sender, line)
        choices = [p for p in payloads(replies) if p.startswith("/clarify")]
        if choices:
            client.send(sender, choices[0])
    replies = client.send(sender, "that's all")
    while "/status_going_well" in payloads(replies):
        replies = client.send(sender, "/skip")
    assert "Here's what I heard" in texts(replies)
    return replies, client.send(sender, "/confirm_summary")


def test_a_carer_is_asked_about_caring_and_summarised_under_carer_headings(assistant):
    client, _ = assistant
    summary, _ = talk_until_saved(
        client,
        "e2e:carer",
        "/role_carer",
        ["I never get a minute to myself since Mum moved in, I miss my book club"],
    )
    assert "Your own life and wellbeing" in texts(summary)
    assert "What matters in your life" not in texts(summary)


def test_a_pa_employer_gets_a_plan_with_their_words(assistant):
    client, _ = assistant
    words = "My PAs need to listen to how I like things done"
    _, saved = talk_until_saved(client, "e2e:pa", "/role_pa_employer", [words])
    assert "/get_plan" in payloads(saved)
    replies = client.send("e2e:pa", "/get_plan")
    assert words in texts(replies)
    documents = [r.document for r in replies if r.document]
    assert documents and words in documents[0]["markdown"]
    assert "<!doctype html>" in documents[0]["html"]


def test_coming_back_to_review_stores_dated_entries(assistant):
    client, db_url = assistant
    sender = "e2e:reviews"
    talk_until_saved(
        client, sender, "/role_person", ["I miss my friends, I never see anyone these days"]
    )
    replies = client.send(sender, "hello again")
    assert "/start_review" in payloads(replies)
    replies = client.send(sender, "/start_review")
    assert "Last time you said" in texts(replies)
    client.send(sender, "/status_partly")
    client.send(sender, "The lunch club on Tuesdays")
    client.send(sender, "/skip")
    replies = client.send(sender, "/affirm")
    while "Last time you said" in texts(replies):  # any further outcomes: skip them
        replies = client.send(sender, "/skip")
    assert "saved how things are going" in texts(replies)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        person = s.execute(select(Person).where(Person.channel_user_id == "reviews")).scalar_one()
        entries = (
            s.execute(
                select(ReviewEntry)
                .where(ReviewEntry.person_id == person.id)
                .order_by(ReviewEntry.id)
            )
            .scalars()
            .all()
        )
        assert (entries[0].status, entries[0].helped, entries[0].still_matters) == (
            "partly_met",
            "The lunch club on Tuesdays",
            True,
        )
    engine.dispose()
