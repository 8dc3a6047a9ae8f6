"""Random and hostile messages through Rasa's REST channel, to a running assistant.

Property (hypothesis, bounded): whatever a person sends during the story part of the
conversation (empty, whitespace, 20,000 characters, emoji only, control characters, other
scripts, markup, SQL fragments, bursts of messages at once), the server answers 200, gives a
reply to every non-empty message, stays up, and stores the words exactly as sent: Rasa strips
surrounding whitespace, and a message over 10,000 characters is stored as its first 10,000
followed by `` [... N more characters not stored]`` and the person is told.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.servers import Servers
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Conversation, Person, Statement
from tests.assistant import fresh_assistant

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/rest/webhook"
STORED_LIMIT = 10_000
TOLD_TOO_LONG = "too long to keep all of it"

EMOJI = "\U0001f600\U0001f622\U0001f3ca\u2764\ufe0f\U0001f468\u200d\U0001f469\u200d\U0001f467\U0001f3f3\ufe0f\u200d\U0001f308\U0001f44d\U0001f3fd"  # noqa: E501
OTHER_SCRIPTS = [
    "Rwy'n hoffi mynd am dro gyda fy nghi bob bore",  # Welsh
    "\u0623\u062d\u0628 \u0623\u0646 \u0623\u0632\u0648\u0631 \u0623\u062e\u062a\u064a \u0643\u0644 \u0623\u0633\u0628\u0648\u0639",  # noqa: E501 Arabic
    "\u6211\u559c\u6b22\u548c\u5973\u513f\u4e00\u8d77\u559d\u8336",  # Chinese
    "\u092e\u0941\u091d\u0947 \u0905\u092a\u0928\u0947 \u092c\u0917\u0940\u091a\u0947 \u092e\u0947\u0902 \u0915\u093e\u092e \u0915\u0930\u0928\u093e \u092a\u0938\u0902\u0926 \u0939\u0948",  # noqa: E501 Hindi
    "Z\u0351\u0345a\u0360l\u0338g\u0334o\u0321 text \u202eexcuse me\u202c"
    " and \u200bzero\u200bwidth",
    "\u0141\u00f3d\u017a \u2014 I\u2019d like to \u201cget out more\u201d \u2026",
]
MARKUP = [
    "<script>alert('hi')</script> I like gardening",
    "<b>bold</b> &amp; <i>italic</i> <!-- comment --> ]]>",
    "[link](javascript:alert(1)) **my** _day_ `code`",
    '{"event": "restart"} {{ template }} ${HOME} %s %(name)s',
    "\\n\\t\\u0000 backslashes \\\\ and 'quotes' \"double\"",
]
SQL = [
    "Robert'); DROP TABLE po_statements;--",
    "' OR '1'='1",
    "1; DELETE FROM events WHERE 1=1; --",
    "I like tea'; UPDATE po_people SET role='x' WHERE ''='",
]
OVERSIZE = [
    "a" * 20_000,
    "word " * 4_000,
    "I love my garden and seeing my grandchildren. " * 300,
    "\U0001f600" * 10_500,
]

messages = st.one_of(
    st.sampled_from(["", " ", "\n\t  \r\n"]),
    st.text(max_size=300),  # any characters, control characters included
    st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=30),
    st.text(alphabet=st.sampled_from(list(EMOJI)), min_size=1, max_size=40),
    st.sampled_from(OTHER_SCRIPTS + MARKUP + SQL),
    st.sampled_from(OVERSIZE),
    st.integers(min_value=STORED_LIMIT - 2, max_value=STORED_LIMIT + 2).map(lambda n: "x" * n),
).filter(
    # "/intent" is a button press, not words. Messages of only NUL characters (and spaces) are
    # left to test_a_message_of_only_nul_characters_gets_a_reply below (a known bug).
    lambda m: not m.strip().startswith("/") and (not m.strip() or m.replace("\x00", "").strip())
)
# Each step is one message, or a burst of messages sent at the same moment.
steps = st.lists(
    st.one_of(messages.map(lambda m: [m]), st.lists(messages, min_size=2, max_size=3)),
    min_size=1,
    max_size=3,
)


def stored_form(message: str) -> str:
    """What the words look like in the database: Rasa strips surrounding whitespace, NUL
    characters are dropped (PostgreSQL cannot store them; bot/storage/repository.py), and
    anything over 10,000 characters is cut there with a marker saying how much was left."""
    text = message.strip().replace("\x00", "")
    if len(text) <= STORED_LIMIT:
        return text
    return f"{text[:STORED_LIMIT]} [... {len(text) - STORED_LIMIT} more characters not stored]"


@dataclass
class Assistant:
    servers: Servers
    http: httpx.Client
    db_url: str

    def post(self, sender: str, message: str) -> tuple[int, list[dict]]:
        response = self.http.post(
            self.servers.rasa_url + WEBHOOK,
            json={"sender": sender, "message": message, "metadata": {"message_id": uuid4()}},
        )
        return response.status_code, response.json() if response.status_code == 200 else []

    def alive(self) -> bool:
        return self.servers.rasa.poll() is None and self.servers.actions.poll() is None


def uuid4() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Iterator[Assistant]:
    var = tmp_path_factory.mktemp("bad-input")
    with fresh_assistant(var) as (servers, db_url), httpx.Client(timeout=120) as http:
        yield Assistant(servers, http, db_url)


def statements_of(db_url: str, user_id: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            return list(
                s.execute(
                    select(Statement.text)
                    .join(Conversation, Statement.conversation_id == Conversation.id)
                    .join(Person, Conversation.person_id == Person.id)
                    .where(Person.channel == "bad", Person.channel_user_id == user_id)
                    .order_by(Statement.position)
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()


def reply_text(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text") or "") for r in replies)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=steps)
def test_hostile_messages_are_answered_and_stored_exactly(assistant: Assistant, steps):
    user_id = uuid4()
    sender = f"bad:{user_id}"
    for opening in ("/greet", "/affirm", "/role_person"):
        status, replies = assistant.post(sender, opening)
        assert status == 200
    assert "what does a good day look like" in reply_text(replies)

    sent: list[str] = []
    answered: list[tuple[str, int, list[dict]]] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in steps:
            results = list(pool.map(lambda m: assistant.post(sender, m), step))
            sent.extend(step)
            answered.extend(
                (m, status, replies) for m, (status, replies) in zip(step, results, strict=True)
            )

    assert assistant.alive(), "a server died"
    for message, status, replies in answered:
        assert status == 200, (message[:80], status)
        if message.strip():
            assert replies, f"no reply to {message[:80]!r}"

    stored = statements_of(assistant.db_url, user_id)
    # Nothing stored that was not sent, nothing stored more often than it was sent, and
    # every stored text is exactly the words sent (or the oversize contract).
    assert not Counter(stored) - Counter(stored_form(m) for m in sent), stored
    for message, _, replies in answered:
        said = reply_text(replies)
        if said.startswith("Thank you") and message.strip():
            assert stored_form(message) in stored, message[:80]
        if len(message.strip()) > STORED_LIMIT and stored_form(message) in stored:
            assert TOLD_TOO_LONG in said, said


def test_the_assistant_is_still_up_and_carries_on(assistant: Assistant):
    """After everything above, a plain conversation still works."""
    sender, user_id = "bad:plain", "plain"
    for opening in ("/greet", "/affirm", "/role_person"):
        assistant.post(sender, opening)
    line = "A good day is when my daughter comes round and we have a cup of tea in the garden."
    status, replies = assistant.post(sender, line)
    assert status == 200 and reply_text(replies)
    assert statements_of(assistant.db_url, user_id) == [line]


def test_a_message_of_only_nul_characters_gets_a_reply(assistant: Assistant):
    sender = "bad:nul-only"
    for opening in ("/greet", "/affirm", "/role_person"):
        assistant.post(sender, opening)
    status, replies = assistant.post(sender, "\x00")
    assert status == 200 and assistant.alive()
    assert replies
