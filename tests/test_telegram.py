"""The Telegram channel: formatting units, then the real python-telegram-bot talking HTTP to a
Bot API stand-in (tests/telegram_standin.py), with the real Rasa and action servers behind it
and the database read back."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.channels.rasa_client import AsyncRasaClient, BotMessage, Button, RetryPolicy
from bot.channels.telegram import (
    ALLOWED_UPDATES,
    COMMANDS,
    EDIT_NOTED,
    NOT_TEXT,
    WILL_REPLY_SHORTLY,
    PerChatUpdateProcessor,
    as_words,
    build_application,
)
from bot.channels.telegram_format import (
    MAX_CALLBACK_BYTES,
    PayloadKeys,
    compact_payload,
    reply_html,
    split_long,
    to_telegram,
)
from bot.servers import Servers, latest_model, rasa_env, running_servers, start_rasa, wait_until_up
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import Conversation, Person, Statement
from tests.ports import free_port
from tests.telegram_standin import TOKEN, BotApiStandIn

LATENCY_FILE = Path("/tmp/telegram_latency.json")

# --- formatting ------------------------------------------------------------------------------


def test_peoples_words_are_escaped_in_html():
    text = "Thank you. I heard: \u201cmy son & I <script>alert(1)</script> <3\u201d."
    shown = reply_html(text)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "son &amp; I" in shown and "&lt;3" in shown


def test_the_summary_reads_as_headings_and_bullets():
    summary = (
        "Here's what I heard, in your words:\nWhat matters in your life\n"
        "- Seeing people who matter to you (partly): \u201ctea with Jo & Sam\u201d\n"
        "What you would like to change\n- Getting out more: \u201cswimming\u201d\n"
        "Have I got that right?"
    )
    lines = reply_html(summary).split("\n")
    assert lines[1] == "<b>What matters in your life</b>"
    assert lines[2].startswith("\u2022 Seeing people") and "Jo &amp; Sam" in lines[2]
    assert lines[3] == "<b>What you would like to change</b>"


def test_buttons_become_an_inline_keyboard_and_long_payloads_get_short_keys():
    keys = PayloadKeys(capacity=2)
    # the longest payload the assistant sends today fits (58 bytes, 56 compacted)
    longest = '/reword_item{"outcome": "carer_practitioner_relationship"}'
    data = keys.encode(7, longest)
    assert data == '/reword_item{"outcome":"carer_practitioner_relationship"}'
    assert data == compact_payload(longest) and len(data.encode()) <= MAX_CALLBACK_BYTES
    assert keys.decode(7, data) == data

    too_long = '/reword_item{"outcome": "' + "x" * 80 + '"}'
    key = keys.encode(7, too_long)
    assert key.startswith("#") and len(key.encode()) <= MAX_CALLBACK_BYTES
    assert keys.decode(7, key) == too_long
    assert keys.decode(8, key) is None  # keys are per chat
    keys.encode(7, too_long + " ")
    keys.encode(7, too_long + "  ")
    assert keys.decode(7, key) is None  # only the latest ``capacity`` are kept
    assert keys.decode(7, "/affirm") == "/affirm"

    reply = BotMessage("Pick <one>", (Button("Yes & more", "/affirm"), Button("No", "/deny")))
    [message] = to_telegram(7, reply, keys)
    assert message.html == "Pick &lt;one&gt;"
    rows = message.keyboard.inline_keyboard
    assert [(r[0].text, r[0].callback_data) for r in rows] == [
        ("Yes & more", "/affirm"),
        ("No", "/deny"),
    ]


def test_long_replies_are_split_at_lines_with_the_keyboard_on_the_last_part():
    text = "\n".join(f"- line {i} " + "x" * 90 for i in range(100))
    parts = split_long(reply_html(text))
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    messages = to_telegram(1, BotMessage(text, (Button("Ok", "/affirm"),)), PayloadKeys())
    assert [m.keyboard is not None for m in messages] == [False, False, True]


def test_typed_words_are_never_read_as_intent_payloads():
    assert as_words("/affirm") == "affirm"
    assert as_words("I said yes/no") == "I said yes/no"


def test_the_async_client_retries_with_the_same_message_id():
    seen: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        if len(seen) == 1:
            return httpx.Response(503)
        if len(seen) == 2:
            return httpx.Response(200, json=[])  # the action server is down: no reply
        return httpx.Response(200, json=[{"text": "heard"}])

    async def scenario() -> list[BotMessage]:
        client = AsyncRasaClient(
            "http://rasa", retry=RetryPolicy(attempts=4, first_delay=0), retry_empty=True
        )
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        retries: list[int] = []

        async def on_retry(attempt: int) -> None:
            retries.append(attempt)

        replies = await client.send("telegram:1", "hi", message_id="u-9", on_retry=on_retry)
        await client.aclose()
        assert retries == [1, 2]
        return replies

    assert asyncio.run(scenario()) == [BotMessage("heard")]
    assert {s["metadata"]["message_id"] for s in seen} == {"u-9"}


def test_one_chat_in_order_many_chats_at_once():
    class Chat:
        def __init__(self, chat_id: int) -> None:
            self.id = chat_id

    class FakeUpdate:  # only ``effective_chat`` is read
        def __init__(self, chat_id: int) -> None:
            self.effective_chat = Chat(chat_id)

    async def scenario() -> list[str]:
        processor = PerChatUpdateProcessor()
        log: list[str] = []

        async def work(name: str, delay: float) -> None:
            log.append(f"{name} start")
            await asyncio.sleep(delay)
            log.append(f"{name} end")

        await asyncio.gather(
            processor.do_process_update(FakeUpdate(1), work("a1", 0.05)),
            processor.do_process_update(FakeUpdate(1), work("a2", 0.0)),
            processor.do_process_update(FakeUpdate(2), work("b1", 0.0)),
        )
        return log

    log = asyncio.run(scenario())
    assert log.index("a1 end") < log.index("a2 start")  # same chat: in order
    assert log.index("b1 end") < log.index("a1 end")  # another chat does not wait


# --- the bot against the stand-in, with the real Rasa and action servers ----------------------


@dataclass
class Harness:
    api: BotApiStandIn
    servers: Servers
    env: dict[str, str]
    rasa_port: int
    db_url: str
    log_dir: Path


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    """Rasa + action server on free ports with fresh databases, and the bot polling the
    stand-in from a thread of its own."""
    var = tmp_path_factory.mktemp("telegram")
    db_url = f"sqlite:///{var / 'outcomes.db'}"
    upgrade(db_url)
    rasa_port, actions_port = free_port(), free_port()
    env = rasa_env(
        rasa_port=rasa_port,
        actions_port=actions_port,
        extra={"DATABASE_URL": db_url, "TRACKER_DB_URL": f"sqlite:///{var / 'tracker.db'}"},
    )
    with running_servers(
        rasa_port=rasa_port, actions_port=actions_port, env=env, log_dir=var / "logs", timeout=180
    ) as servers:
        api = BotApiStandIn().start()
        api.ignored = (WILL_REPLY_SHORTLY,)  # a slow first reply (model loading) gets the notice
        rasa = AsyncRasaClient(
            servers.rasa_url,
            timeout=30,
            retry=RetryPolicy(attempts=80, first_delay=0.2, max_delay=1.0),  # ~75 s
            retry_empty=True,
        )
        application = build_application(TOKEN, rasa, base_url=api.base_url)
        loop = asyncio.new_event_loop()

        def poll() -> None:
            asyncio.set_event_loop(loop)
            application.run_polling(
                poll_interval=0,
                timeout=1,
                stop_signals=None,
                close_loop=False,
                allowed_updates=ALLOWED_UPDATES,
            )

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        api.wait_for(lambda: api.of("getUpdates"), 30, "the bot to start polling")
        yield Harness(api, servers, env, rasa_port, db_url, var / "logs")
        loop.call_soon_threadsafe(application.stop_running)
        thread.join(30)
        api.stop()


def say(h: Harness, chat: int, text: str, contains: str = "") -> str:
    """The person types ``text``; returns everything the bot answered."""
    since = time.monotonic()
    h.api.send_text(chat, text)
    return h.api.wait_for_reply(chat, since, contains)


def press(h: Harness, chat: int, title: str, contains: str = "") -> str:
    """The person presses a button; returns everything the bot answered."""
    since = time.monotonic()
    h.api.press(chat, title)
    return h.api.wait_for_reply(chat, since, contains)


def start_talking(h: Harness, chat: int) -> None:
    """/start, consent by button, role by button: up to the first story question."""
    assert "Talking Points assistant" in say(h, chat, "/start", "keep what you tell me")
    assert h.api.buttons(chat) == ["Yes, that's fine", "No thanks"]
    press(h, chat, "Yes, that's fine", "which of these fits you best")
    press(h, chat, "I get support", "good day look like")


def statements_of(db_url: str, chat: int) -> list[str]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            rows = s.execute(
                select(Statement.text)
                .join(Conversation, Statement.conversation_id == Conversation.id)
                .join(Person, Conversation.person_id == Person.id)
                .where(Person.channel == "telegram", Person.channel_user_id == str(chat))
                .order_by(Statement.id)
            )
            return [text for (text,) in rows]
    finally:
        engine.dispose()


def person_exists(db_url: str, chat: int) -> bool:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            found = s.execute(
                select(Person.id).where(
                    Person.channel == "telegram", Person.channel_user_id == str(chat)
                )
            ).first()
            return found is not None
    finally:
        engine.dispose()


STORY = [
    "A good day is when my daughter comes round and we have a cup of tea & a chat in the garden <3",
    "I'd love to get back to the swimming baths, I used to go every Tuesday \U0001f3ca",
]


@pytest.mark.slow
def test_a_whole_conversation_on_telegram_is_stored_verbatim(harness, caplog):
    caplog.set_level(logging.INFO)
    h, chat = harness, 111
    assert [c["command"] for c in h.api.of("setMyCommands")[0].params["commands"]] == [
        c for c, _, _ in COMMANDS
    ]
    start_talking(h, chat)

    reflection = say(h, chat, STORY[0], "Thank you")
    assert "tea &amp; a chat in the garden &lt;3" in reflection  # escaped for HTML
    assert h.api.of("sendMessage", chat)[-1].params["parse_mode"] == "HTML"
    say(h, chat, STORY[1], "Thank you")

    replies = say(h, chat, "that's all", "How are things with that just now")
    asked = 0
    while "Going well" in h.api.buttons(chat) and "Here's what I heard" not in replies:
        asked += 1
        replies = press(h, chat, "Partly" if asked == 1 else "Skip")
        assert asked < 8
    assert asked >= 2
    assert "Here's what I heard" in replies
    assert "<b>What matters in your life</b>" in replies and "\u2022 " in replies
    assert "a cup of tea &amp; a chat" in replies

    saved = press(h, chat, "Yes, that's right", "your reference is PO-")
    assert statements_of(h.db_url, chat) == STORY

    # every press was answered, and the choice stays visible where the buttons were
    presses = [u for u in h.api.of("answerCallbackQuery")]
    assert len(presses) == asked + 3
    edits = [c.params["text"] for c in h.api.of("editMessageText", chat)]
    assert len(edits) == asked + 3 and edits[0].endswith("<i>\u2714 Yes, that's fine</i>")
    assert h.api.of("sendChatAction", chat)[0].params["action"] == "typing"
    assert "PO-" in saved
    logged = caplog.text
    assert "swimming baths" not in logged and "daughter" not in logged  # never people's words


@pytest.mark.slow
def test_summary_and_delete_commands(harness):
    h, chat = harness, 222
    start_talking(h, chat)
    say(h, chat, "Seeing my brother every Sunday for lunch is what keeps me going.", "Thank you")
    record = say(h, chat, "/summary", "Here's everything I've stored about you")
    assert "Seeing my brother every Sunday" in record
    assert "Shall I delete it?" in say(h, chat, "/delete", "Shall I delete it?")
    assert h.api.buttons(chat) == ["Yes, delete it", "No, keep it"]
    assert person_exists(h.db_url, chat)
    press(h, chat, "Yes, delete it", "deleted everything")
    assert not person_exists(h.db_url, chat)
    assert "Help" not in say(h, chat, "/help", "listen to what matters to you")


@pytest.mark.slow
def test_photos_stickers_and_files_get_a_kind_explanation(harness):
    h, chat = harness, 333  # (voice notes are heard: tests/test_telegram_voice.py)
    since = time.monotonic()
    for kind in ("photo", "sticker", "document"):
        h.api.send_media(chat, kind)
    h.api.wait_for(lambda: len(h.api.texts(chat, since)) == 3, 10, "three explanations")
    time.sleep(0.3)
    assert h.api.texts(chat, since) == [NOT_TEXT] * 3
    assert not h.api.of("sendChatAction", chat)  # nothing went to the assistant


@pytest.mark.slow
def test_an_edited_message_is_noted_and_kept_as_well(harness):
    h, chat = harness, 444
    start_talking(h, chat)
    first = "Seeing my grandson at the weekend is the best part of my week."
    edited = "Seeing my grandson and granddaughter at the weekend is the best part of my week."
    say(h, chat, first, "Thank you")
    since = time.monotonic()
    h.api.edit_text(chat, edited)
    replies = h.api.wait_for_reply(chat, since, "Thank you")
    assert replies.startswith(EDIT_NOTED)
    assert statements_of(h.db_url, chat) == [first, edited]


@pytest.mark.slow
def test_telegram_flood_control_and_a_blocked_chat_are_survived(harness, caplog):
    h, chat = harness, 555
    h.api.failures.append(
        (
            "sendMessage",
            chat,
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
    )
    since = time.monotonic()
    assert "listen to what matters" in say(h, chat, "/help", "listen to what matters")
    [refused] = h.api.of("sendMessage", chat, since, failed=True)
    assert h.api.of("sendMessage", chat, since)[0].at - refused.at >= 1.0  # waited as told
    h.api.failures.append(
        (
            "sendMessage",
            chat,
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )
    h.api.send_text(chat, "/help")
    h.api.wait_for(lambda: "blocked the bot" in caplog.text, 30, "the blocked chat to be logged")
    assert "listen to what matters" in say(h, chat, "/help", "listen to what matters")


@pytest.mark.slow
def test_rasa_down_mid_conversation_the_message_is_kept_and_stored_once(harness):
    h, chat = harness, 666
    start_talking(h, chat)
    h.servers.rasa.terminate()
    h.servers.rasa.wait(30)
    words = ["Going to the allotment with my friend Pat makes a good day.", "And my dog, Bess."]
    since = time.monotonic()
    h.api.send_text(chat, words[0])
    h.api.wait_for(lambda: WILL_REPLY_SHORTLY in h.api.texts(chat, since), 30, "the notice")
    h.api.send_text(chat, words[1])  # queued behind the first, in order

    h.servers.rasa = start_rasa(h.env, h.rasa_port, latest_model(), h.log_dir / "rasa-2.log")
    wait_until_up(f"{h.servers.rasa_url}/status", h.servers.rasa, 180)
    h.api.wait_for(
        lambda: sum(t.startswith("Thank you") for t in h.api.texts(chat, since)) >= 2,
        90,
        "both messages to be answered",
    )
    assert h.api.texts(chat, since).count(WILL_REPLY_SHORTLY) == 1
    assert statements_of(h.db_url, chat) == words


@pytest.mark.slow
def test_latency_from_update_to_reply(harness):
    """Median time from getUpdates handing an update over to the first sendMessage."""
    h, chat = harness, 777
    start_talking(h, chat)
    lines = [
        "I like going to the library on a Monday.",
        "Seeing my grandchildren matters most to me.",
        "I want to feel safe when I'm at home on my own.",
        "I'd like to cook my own meals again.",
        "help",
    ]
    timings = []
    for i in range(20):
        since = time.monotonic()
        update_id = h.api.send_text(chat, lines[i % len(lines)])
        h.api.wait_for_reply(chat, since)
        first_reply = h.api.of("sendMessage", chat, since)[0].at
        timings.append(first_reply - h.api.delivered_at[update_id])
    median = statistics.median(timings)
    LATENCY_FILE.write_text(
        json.dumps(
            {
                "n": len(timings),
                "median_s": round(median, 3),
                "min_s": round(min(timings), 3),
                "max_s": round(max(timings), 3),
            }
        )
    )
    print(f"update -> sendMessage: median {median:.3f} s over {len(timings)} messages")
    assert median < 5


@pytest.mark.slow
def test_a_pa_employer_gets_their_plan_as_files(harness):
    h, chat = harness, 888
    assert "Talking Points assistant" in say(h, chat, "/start", "keep what you tell me")
    press(h, chat, "Yes, that's fine", "which of these fits you best")
    press(h, chat, "I employ Personal Assistants", "good day look like")
    words = "My PAs need to listen to how I like things done"
    say(h, chat, words)
    replies = say(h, chat, "that's all")
    while "Skip" in h.api.buttons(chat) and "Here's what I heard" not in replies:
        replies = press(h, chat, "Skip")
    press(h, chat, "Yes, that's right", "draft Personal Outcomes Plan")
    since = time.monotonic()
    press(h, chat, "Yes please", "Here is your draft plan")
    deadline = time.monotonic() + 20
    while len(h.api.of("sendDocument", chat, since)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    files = {c.params["document"]["filename"]: c.params["document"]["content"]
             for c in h.api.of("sendDocument", chat, since)}  # fmt: skip
    names = sorted(files)
    assert len(names) == 2, h.api.texts(chat)[-4:]
    assert names[0].startswith("personal-outcomes-plan-PO-") and names[0].endswith(".html")
    assert names[1].endswith(".md")
    assert all(words in content for content in files.values())
