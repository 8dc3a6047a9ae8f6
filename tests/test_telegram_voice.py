"""Voice notes on Telegram, end to end: spoken notes (espeak-ng en-gb, OGG/Opus) sent through
the Bot API stand-in to the real bot, the real Rasa and action servers behind it, and the
database read back."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select

from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Conversation, Person, Statement
from bot.voice import wording
from tests.test_telegram import harness, press, say, start_talking  # noqa: F401 - the fixture
from tests.voice_notes import SPOKEN, speak, word_error_rate


def stored(db_url: str, chat: int) -> list[tuple[str, bool, str | None]]:
    """(text, transcribed, message id) of every statement of the chat, in order."""
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            rows = s.execute(
                select(Statement.text, Statement.transcribed, Statement.message_id)
                .join(Conversation, Statement.conversation_id == Conversation.id)
                .join(Person, Conversation.person_id == Person.id)
                .where(Person.channel == "telegram", Person.channel_user_id == str(chat))
                .order_by(Statement.id)
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def send_voice(h, chat: int, audio: bytes, duration: int, contains: str) -> tuple[str, int]:
    """The person sends a voice note; returns what the bot answered and the note's message id."""
    since = time.monotonic()
    _update, message_id = h.api.send_voice(chat, audio, duration)
    return h.api.wait_for_reply(chat, since, contains, timeout=90), message_id


def heard_text(reply: str) -> str:
    """The transcript quoted in "I heard: “…” — is that right?"."""
    start, end = reply.index("\u201c") + 1, reply.rindex("\u201d")
    return reply[start:end]


@pytest.fixture(scope="module")
def notes(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("telegram-notes")
    return [speak(text, folder, f"n{i}").read_bytes() for i, text in enumerate(SPOKEN[:2])]


@pytest.mark.slow
def test_a_confirmed_voice_note_is_stored_as_transcribed(harness, notes, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    h, chat = harness, 901
    start_talking(h, chat)
    transcripts, ids = [], []
    for audio in notes:
        before = stored(h.db_url, chat)
        reply, voice_id = send_voice(h, chat, audio, 8, "is that right?")
        assert reply.startswith("I heard: \u201c")
        assert h.api.buttons(chat) == [wording.YES, wording.TYPE_IT]
        assert h.api.of("sendChatAction", chat)[-1].params["action"] == "typing"
        assert stored(h.db_url, chat) == before  # nothing is stored until they say yes
        press(h, chat, wording.YES, "Thank you")
        transcripts.append(heard_text(reply))
        ids.append(f"voice:{voice_id}")

    assert stored(h.db_url, chat) == [(t, True, i) for t, i in zip(transcripts, ids, strict=True)]
    rate = word_error_rate(list(zip(SPOKEN[:2], transcripts, strict=True)))
    assert rate <= 0.15, (rate, transcripts)
    edits = [c.params["text"] for c in h.api.of("editMessageText", chat)]
    assert edits[-1].endswith("<i>\u2714 Yes</i>")  # the choice stays visible
    # the audio was fetched through the Bot API, once per note; the words never reach the logs
    assert len(h.api.of("download")) >= 2
    for word in ("daughter", "garden", "Thursdays"):
        assert word not in caplog.text


@pytest.mark.slow
def test_no_ill_type_it_stores_nothing_from_the_audio(harness, notes):  # noqa: F811
    h, chat = harness, 902
    start_talking(h, chat)
    _reply, voice_id = send_voice(h, chat, notes[0], 8, "is that right?")
    sent_to_rasa_before = len(h.api.of("sendChatAction", chat))
    reply = press(h, chat, wording.TYPE_IT, wording.TYPE_IT_REPLY)
    assert wording.TYPE_IT_REPLY in reply and "Thank you" not in reply
    time.sleep(1.0)
    assert stored(h.db_url, chat) == []
    assert len(h.api.of("sendChatAction", chat)) == sent_to_rasa_before  # Rasa was not asked
    # pressing again (or an old button) does nothing but say so
    since = time.monotonic()
    h.api.press_again(chat, f"voice:yes:{voice_id}")
    h.api.wait_for(lambda: h.api.of("answerCallbackQuery", since=since), 10, "the answer")
    assert h.api.of("answerCallbackQuery", since=since)[0].params["text"] == wording.EXPIRED
    # typing it instead is stored as typed words
    say(h, chat, "I like going to the lunch club on Thursdays.", "Thank you")
    assert [(t, tr) for t, tr, _ in stored(h.db_url, chat)] == [
        ("I like going to the lunch club on Thursdays.", False)
    ]


@pytest.mark.slow
def test_a_note_over_two_minutes_gets_a_kind_answer_without_a_download(harness):  # noqa: F811
    h, chat = harness, 903
    fetched = len(h.api.of("getFile")), len(h.api.of("download"))
    reply, _ = send_voice(h, chat, b"OggS" + bytes(100), 150, "two minutes")
    assert reply == wording.TOO_LONG
    assert (len(h.api.of("getFile")), len(h.api.of("download"))) == fetched
    assert stored(h.db_url, chat) == []


@pytest.mark.slow
def test_audio_that_cannot_be_heard_gets_a_kind_answer(harness):  # noqa: F811
    h, chat = harness, 904
    reply, _ = send_voice(h, chat, b"this is not audio", 4, "make that out")
    assert reply == wording.UNREADABLE
    assert not h.api.buttons(chat)


@pytest.mark.slow
def test_transcribing_does_not_hold_up_other_chats(harness, tmp_path):  # noqa: F811
    h, talker, other = harness, 905, 906
    long_note = speak(" ".join(SPOKEN[2:5]), tmp_path, "long").read_bytes()  # about 23 s
    since = time.monotonic()
    h.api.send_voice(talker, long_note, 23)
    h.api.wait_for(lambda: h.api.of("download", since=since), 10, "the download")
    h.api.send_text(other, "/start")
    h.api.wait_for_reply(other, since, "keep what you tell me")
    answered_other = h.api.of("sendMessage", other, since)[0].at
    h.api.wait_for_reply(talker, since, "is that right?", timeout=90)
    confirmation = h.api.of("sendMessage", talker, since)[-1].at
    assert answered_other < confirmation
