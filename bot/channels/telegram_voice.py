"""Voice notes on Telegram: heard offline, checked with the person, then passed on as words.

A voice note's length (Telegram tells us) is checked before it is downloaded; the audio is
downloaded into memory (never written to disk), transcribed in a worker thread so other
chats carry on, and the person is asked "I heard: ... is that right?". Only a transcript
they confirm goes to Rasa, marked ``transcribed`` and stored under an id made from the voice
note's message id, so a retry is stored once. The audio is not kept; the transcript waits in
memory until they answer. Logs hold chat ids, lengths and timings, never the words.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram_format import chosen_note
from bot.channels.typed import as_words
from bot.voice import (
    MAX_SECONDS,
    Transcript,
    VoiceNoteTooLong,
    VoiceNoteUnreadable,
    transcribe,
    wording,
)

if TYPE_CHECKING:
    from bot.channels.telegram import Bridge

logger = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^voice:(yes|type):(\d+)$"
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's getFile limit


def rasa_message_id(voice_message_id: int) -> str:
    """The id a confirmed transcript is stored under: the same for every retry."""
    return f"voice:{voice_message_id}"


def confirmation_keyboard(voice_message_id: int) -> InlineKeyboardMarkup:
    """ "Yes" and "No, I'll type it" under the transcript."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(wording.YES, callback_data=f"voice:yes:{voice_message_id}")],
            [InlineKeyboardButton(wording.TYPE_IT, callback_data=f"voice:type:{voice_message_id}")],
        ]
    )


class PendingTranscripts:
    """Transcripts waiting for the person's answer, per chat (the latest few, in memory)."""

    def __init__(self, per_chat: int = 5) -> None:
        self.per_chat = per_chat
        self._chats: dict[int, OrderedDict[int, str]] = {}

    def hold(self, chat_id: int, voice_message_id: int, text: str) -> None:
        """Keep ``text`` until the person answers; the oldest of a chat goes beyond the limit."""
        held = self._chats.setdefault(chat_id, OrderedDict())
        held[voice_message_id] = text
        while len(held) > self.per_chat:
            held.popitem(last=False)

    def take(self, chat_id: int, voice_message_id: int) -> str | None:
        """The transcript, removed (so a second press finds nothing), or ``None``."""
        held = self._chats.get(chat_id)
        text = held.pop(voice_message_id, None) if held else None
        if held is not None and not held:
            del self._chats[chat_id]
        return text


def _seconds(value: float | timedelta | None) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def voice_duration(update: Update) -> float:
    """The length Telegram gives for the voice note, in seconds."""
    with warnings.catch_warnings():  # PTB 22 warns that ``duration`` becomes a timedelta
        warnings.simplefilter("ignore")
        return _seconds(update.effective_message.voice.duration)


def _bridge(context: ContextTypes.DEFAULT_TYPE) -> Bridge:
    return context.application.bot_data["bridge"]


def _pending(context: ContextTypes.DEFAULT_TYPE) -> PendingTranscripts:
    return context.application.bot_data.setdefault("voice_pending", PendingTranscripts())


def _transcriber(context: ContextTypes.DEFAULT_TYPE) -> Callable[[bytes], Transcript]:
    return context.application.bot_data.get("transcribe", transcribe)


async def _say(bridge: Bridge, chat_id: int, what: str, text: str, **kwargs: object) -> None:
    await bridge.telegram_call(
        what, chat_id, lambda: bridge.bot.send_message(chat_id, text, **kwargs)
    )


async def _hear(
    bridge: Bridge,
    chat_id: int,
    audio_of: Callable[[], Awaitable[bytearray]],
    run: Callable[[bytes], Transcript],
) -> Transcript:
    """Download and transcribe (in a thread), showing "typing..." meanwhile."""

    async def keep_typing() -> None:
        while True:
            await bridge.telegram_call(
                "typing", chat_id, lambda: bridge.bot.send_chat_action(chat_id, ChatAction.TYPING)
            )
            await asyncio.sleep(bridge.typing_every)

    typing = asyncio.create_task(keep_typing())
    try:
        audio = bytes(await audio_of())
        return await asyncio.to_thread(run, audio)
    finally:
        typing.cancel()
        await asyncio.gather(typing, return_exceptions=True)


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A voice note: check its length, transcribe it, and ask whether we heard it right."""
    chat_id = update.effective_chat.id
    message = update.effective_message
    bridge = _bridge(context)
    duration = voice_duration(update)
    if duration > MAX_SECONDS:
        logger.info("Voice note in chat %s too long (%.0f s); not downloaded", chat_id, duration)
        await _say(bridge, chat_id, "too-long note", wording.TOO_LONG)
        return
    if (message.voice.file_size or 0) > MAX_DOWNLOAD_BYTES:
        await _say(bridge, chat_id, "unreadable note", wording.UNREADABLE)
        return

    async def download() -> bytearray:
        file = await context.bot.get_file(message.voice.file_id)
        return await file.download_as_bytearray()  # into memory: audio never touches disk

    try:
        heard = await _hear(bridge, chat_id, download, _transcriber(context))
    except VoiceNoteTooLong:
        logger.info("Voice note in chat %s over the limit once decoded", chat_id)
        await _say(bridge, chat_id, "too-long note", wording.TOO_LONG)
        return
    except (VoiceNoteUnreadable, TelegramError) as error:
        logger.warning("Voice note in chat %s not heard: %s", chat_id, type(error).__name__)
        await _say(bridge, chat_id, "unreadable note", wording.UNREADABLE)
        return
    except Exception:  # the model failed: say so kindly, keep serving
        logger.exception("Transcribing a voice note in chat %s failed", chat_id)
        await _say(bridge, chat_id, "unreadable note", wording.UNREADABLE)
        return
    logger.info(
        "Voice note in chat %s: %.1f s of audio, transcribed in %.1f s",
        chat_id,
        heard.duration,
        heard.elapsed,
    )
    _pending(context).hold(chat_id, message.message_id, heard.text)
    await _say(
        bridge,
        chat_id,
        "voice confirmation",
        wording.heard_prompt(heard.text),
        reply_markup=confirmation_keyboard(message.message_id),
    )


async def on_voice_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Yes": the transcript goes to Rasa as the person's words. "No": ask them to type it."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    bridge = _bridge(context)
    match = re.match(CALLBACK_PATTERN, query.data or "")
    if match is None:
        return
    choice, voice_message_id = match.group(1), int(match.group(2))
    text = _pending(context).take(chat_id, voice_message_id)
    await query.answer(None if text is not None else wording.EXPIRED)
    if text is None:
        return
    message = query.message
    if message is not None and message.is_accessible and message.text:
        title = wording.YES if choice == "yes" else wording.TYPE_IT
        shown = message.text_html + "\n\n" + chosen_note(title)
        await bridge.telegram_call(
            "voice choice",
            chat_id,
            lambda: query.edit_message_text(shown, parse_mode=ParseMode.HTML),
        )
    if choice == "yes":
        bridge.submit(chat_id, as_words(text), rasa_message_id(voice_message_id), transcribed=True)
    else:
        await _say(bridge, chat_id, "type-it reply", wording.TYPE_IT_REPLY)
