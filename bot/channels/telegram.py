"""``python -m bot telegram``: the assistant on Telegram.

Each private chat talks to its own Rasa conversation (sender ``telegram:<chat_id>``) through
Rasa's REST channel. Long polling by default (no public address needed); with
``TELEGRAM_WEBHOOK_URL`` set, Telegram posts updates to our own small aiohttp server instead.

How messages flow: the handlers only put a message on its chat's queue and return; one worker
per chat delivers the queue to Rasa in order and sends the replies back. If Rasa (or the
action server) is down or slow, the person is told once that the assistant will reply
shortly, the message stays queued, and it is retried with backoff using the same
``message_id`` (the Telegram update id), so it is stored once however often it is retried.
Logs never hold what people wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import secrets
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from telegram import BotCommand, InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.rasa_client import AsyncRasaClient, BotMessage, RasaUnavailable, RetryPolicy
from bot.channels.telegram_format import PayloadKeys, chosen_note, to_telegram
from bot.channels.telegram_voice import CALLBACK_PATTERN, on_voice, on_voice_button
from bot.channels.typed import BUTTON_EXPIRED, as_words

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "telegram"

# (command, menu description, what Rasa receives)
COMMANDS: list[tuple[str, str, str]] = [
    ("start", "Begin, or carry on where we left off", "/greet"),
    ("help", "What I can do", "/help"),
    ("summary", "See what is stored about me", "/show_my_data"),
    ("delete", "Delete what is stored about me", "/delete_my_data"),
    ("stop", "Pause for now", "/stop"),
]

# The only texts this channel writes itself; everything else comes from Rasa.
NOT_TEXT = (
    "Thank you for sending that. I can read typed messages and listen to voice notes, but I "
    "can't see pictures, stickers or files. Could you tell me in words instead?"
)
WILL_REPLY_SHORTLY = (
    "I've got your message, thank you. I'm taking a little longer than usual, "
    "so I'll reply shortly. There's no need to send it again."
)
EDIT_NOTED = (
    "I've noted your change. I keep your first version too; you can take it out when we "
    "look over the summary together."
)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]

# Rasa may be slow (the action server trains the outcome model on first use if it is stale);
# people are told after ``slow_after`` seconds, and a request is only abandoned (and retried
# with the same message_id) after this long.
RASA_TIMEOUT = 90.0
# A few minutes in total: 1, 2, 4, 8, 16, 30, 30, 30 ... seconds between attempts.
TELEGRAM_RETRY = RetryPolicy(attempts=10, first_delay=1.0, max_delay=30.0)


def sender_id(chat_id: int) -> str:
    """The Rasa conversation for a Telegram chat."""
    return f"{CHANNEL}:{chat_id}"


@dataclass
class Incoming:
    """A message waiting for Rasa: what Rasa receives, the id it is stored under, and whether
    it was heard from a voice note the person confirmed."""

    text: str
    message_id: str
    transcribed: bool = False


@dataclass
class ChatState:
    """One chat's queue and its worker."""

    pending: deque[Incoming] = field(default_factory=deque)
    worker: asyncio.Task | None = None
    told_waiting: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates from one chat are handled one after another, in the order they arrived;
    different chats are handled concurrently."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = getattr(update, "effective_chat", None)
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and self._locks.get(chat.id) is lock:
                del self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class Bridge:
    """Per-chat queues between Telegram and Rasa."""

    def __init__(
        self,
        rasa: AsyncRasaClient,
        *,
        slow_after: float = 12.0,
        typing_every: float = 4.5,
        rescue_after: float = 300.0,
    ) -> None:
        self.rasa = rasa
        self.keys = PayloadKeys()
        self.slow_after = slow_after
        self.typing_every = typing_every
        self.rescue_after = rescue_after
        self.bot: Any = None  # set when the Application is built
        self._chats: dict[int, ChatState] = {}

    def submit(
        self, chat_id: int, text: str, message_id: str, *, transcribed: bool = False
    ) -> None:
        """Queue a message for Rasa; the chat's worker delivers it in order."""
        state = self._chats.setdefault(chat_id, ChatState())
        state.pending.append(Incoming(text, message_id, transcribed))
        state.wake.set()
        if state.worker is None or state.worker.done():
            state.worker = asyncio.create_task(self._drain(chat_id, state))

    def undelivered(self) -> int:
        """How many messages are still waiting for Rasa, over all chats."""
        return sum(len(state.pending) for state in self._chats.values())

    async def stop(self) -> None:
        """Stop the workers; anything undelivered is counted in the log (never its text)."""
        workers = [s.worker for s in self._chats.values() if s.worker and not s.worker.done()]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self.undelivered():
            logger.warning("Stopping with %d message(s) not yet delivered", self.undelivered())

    async def _drain(self, chat_id: int, state: ChatState) -> None:
        try:
            await self._deliver_all(chat_id, state)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the queue; the next message starts a new worker
            logger.exception("Worker for chat %s stopped", chat_id)

    async def _deliver_all(self, chat_id: int, state: ChatState) -> None:
        while state.pending:
            item = state.pending[0]
            try:
                replies = await self._deliver(chat_id, state, item)
            except RasaUnavailable:
                logger.error(
                    "Rasa did not answer for chat %s; keeping %d message(s) to try again",
                    chat_id,
                    len(state.pending),
                )
                state.wake.clear()
                # try again when they write again, or after a while
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(state.wake.wait(), self.rescue_after)
                continue
            state.pending.popleft()
            await self._send_replies(chat_id, replies)
        state.told_waiting = False

    async def _deliver(self, chat_id: int, state: ChatState, item: Incoming) -> list[BotMessage]:
        async def tell_waiting(_attempt: int = 0) -> None:
            if not state.told_waiting:
                state.told_waiting = True
                await self.telegram_call(
                    "notice",
                    chat_id,
                    lambda: self.bot.send_message(chat_id, WILL_REPLY_SHORTLY),
                )

        async def keep_typing() -> None:
            while not state.told_waiting:
                await self.telegram_call(
                    "typing", chat_id, lambda: self.bot.send_chat_action(chat_id, ChatAction.TYPING)
                )
                await asyncio.sleep(self.typing_every)

        async def notice_if_slow() -> None:
            await asyncio.sleep(self.slow_after)
            await tell_waiting()

        helpers = [asyncio.create_task(keep_typing()), asyncio.create_task(notice_if_slow())]
        try:
            return await self.rasa.send(
                sender_id(chat_id),
                item.text,
                message_id=item.message_id,
                on_retry=tell_waiting,
                transcribed=item.transcribed,
            )
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    async def _send_replies(self, chat_id: int, replies: list[BotMessage]) -> None:
        for reply in replies:
            if reply.document:
                await self._send_document(chat_id, reply.document)
                continue
            for message in to_telegram(chat_id, reply, self.keys):
                await self.telegram_call(
                    "reply",
                    chat_id,
                    lambda m=message: self.bot.send_message(
                        chat_id, m.html, parse_mode=ParseMode.HTML, reply_markup=m.keyboard
                    ),
                )

    async def _send_document(self, chat_id: int, document: dict[str, Any]) -> None:
        """Send a document the assistant made (the PA plan) as files: printable HTML and
        Markdown."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(document.get("filename") or "document"))
        for kind, suffix in (("html", ".html"), ("markdown", ".md")):
            content = document.get(kind)
            if not content:
                continue
            await self.telegram_call(
                "document",
                chat_id,
                lambda c=content, n=f"{name}{suffix}": self.bot.send_document(
                    chat_id, document=InputFile(c.encode("utf-8"), filename=n)
                ),
            )

    async def telegram_call(
        self, what: str, chat_id: int, call: Callable[[], Awaitable[T]], tries: int = 4
    ) -> T | None:
        """A Bot API call with flood control, blocked chats and network trouble handled."""
        for attempt in range(tries):
            try:
                return await call()
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                logger.warning(
                    "Flood control: waiting %.0f s before %s to chat %s", wait, what, chat_id
                )
                await asyncio.sleep(wait)
            except Forbidden:
                logger.warning("Chat %s has blocked the bot or left; %s not sent", chat_id, what)
                return None
            except BadRequest:
                logger.error("Telegram refused the %s to chat %s", what, chat_id, exc_info=True)
                return None
            except NetworkError as error:
                logger.warning(
                    "Network trouble sending %s to chat %s (attempt %d): %s",
                    what,
                    chat_id,
                    attempt + 1,
                    type(error).__name__,
                )
                await asyncio.sleep(min(2**attempt, 10))
        logger.error("Gave up sending %s to chat %s", what, chat_id)
        return None


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# --- handlers: each has one job -------------------------------------------------------------


def _bridge(context: ContextTypes.DEFAULT_TYPE) -> Bridge:
    return context.application.bot_data["bridge"]


def command_handler(payload: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A handler that sends ``payload`` to Rasa for a menu command."""

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send the command's payload to the chat's conversation."""
        _bridge(context).submit(update.effective_chat.id, payload, str(update.update_id))

    return on_command


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a typed message to the chat's conversation."""
    text = update.effective_message.text or ""
    _bridge(context).submit(update.effective_chat.id, as_words(text), str(update.update_id))


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message is a new message: say so, and pass the new words on to be kept."""
    chat_id = update.effective_chat.id
    bridge = _bridge(context)
    await bridge.telegram_call(
        "edit note", chat_id, lambda: context.bot.send_message(chat_id, EDIT_NOTED)
    )
    text = update.effective_message.text or ""
    bridge.submit(chat_id, as_words(text), str(update.update_id))


async def on_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, files...: explain kindly that we read text (and hear voice notes)."""
    chat_id = update.effective_chat.id
    await _bridge(context).telegram_call(
        "not-text note", chat_id, lambda: context.bot.send_message(chat_id, NOT_TEXT)
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: answer it, send its payload to Rasa, and leave the choice visible."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    bridge = _bridge(context)
    payload = bridge.keys.decode(chat_id, query.data or "")
    await query.answer(None if payload else BUTTON_EXPIRED)
    if payload is None:
        return
    bridge.submit(chat_id, payload, str(update.update_id))
    message = query.message
    if message is None or not message.is_accessible or not message.text:
        return
    title = next(
        (
            button.text
            for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
            for button in row
            if button.callback_data == query.data
        ),
        None,
    )
    shown = message.text_html + ("\n\n" + chosen_note(title) if title else "")
    await bridge.telegram_call(
        "choice", chat_id, lambda: query.edit_message_text(shown, parse_mode=ParseMode.HTML)
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any error a handler raised, with its traceback but without the update's text."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("Error while handling update %s", update_id, exc_info=context.error)


# --- the application ------------------------------------------------------------------------


async def post_init(application: Application) -> None:
    """Set the command menu people see in Telegram."""
    await application.bot.set_my_commands([BotCommand(c, d) for c, d, _ in COMMANDS])


async def post_stop(application: Application) -> None:
    """Stop the per-chat workers."""
    await application.bot_data["bridge"].stop()


async def post_shutdown(application: Application) -> None:
    """Close the connection pool to Rasa."""
    await application.bot_data["bridge"].rasa.aclose()


def file_url(base_url: str) -> str:
    """Where files are downloaded from, beside a Bot API ``.../bot`` URL (as Telegram does)."""
    root, bot = base_url.rstrip("/").rsplit("/", 1)
    return f"{root}/file/{bot}"


def build_application(
    token: str,
    rasa: AsyncRasaClient,
    *,
    base_url: str | None = None,
    bridge_options: dict[str, Any] | None = None,
) -> Application:
    """The bot: handlers for private chats, the command menu, one error handler."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request at INFO
    builder = (
        ApplicationBuilder()
        .token(token)
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if base_url:
        builder = builder.base_url(base_url).base_file_url(file_url(base_url))
    application = builder.build()
    bridge = Bridge(rasa, **(bridge_options or {}))
    bridge.bot = application.bot
    application.bot_data["bridge"] = bridge

    private = filters.ChatType.PRIVATE
    new_message = filters.UpdateType.MESSAGE
    for command, _description, payload in COMMANDS:
        application.add_handler(
            CommandHandler(command, command_handler(payload), filters=private & new_message)
        )
    application.add_handler(MessageHandler(private & new_message & filters.TEXT, on_text))
    application.add_handler(MessageHandler(private & new_message & filters.VOICE, on_voice))
    application.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE & filters.TEXT, on_edit)
    )
    application.add_handler(
        MessageHandler(
            private & new_message & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_not_text
        )
    )
    application.add_handler(CallbackQueryHandler(on_voice_button, pattern=CALLBACK_PATTERN))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


async def serve_webhook(application: Application, url: str, listen: str, port: int) -> None:
    """Webhook mode: our own aiohttp server puts Telegram's updates on the update queue.

    Served at the path of ``url`` (behind a TLS-terminating proxy that forwards to
    ``listen:port``), with ``GET /health`` for monitoring. A fresh secret token per start
    means only Telegram can post updates.
    """
    from urllib.parse import urlparse

    from aiohttp import web

    path = urlparse(url).path or "/"
    secret = secrets.token_urlsafe(32)

    async def receive(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        update = Update.de_json(await request.json(), application.bot)
        await application.update_queue.put(update)
        return web.Response()

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post(path, receive)
    web_app.router.add_get("/health", health)
    runner = web.AppRunner(web_app)
    async with application:
        await post_init(application)
        await application.bot.set_webhook(url, allowed_updates=ALLOWED_UPDATES, secret_token=secret)
        await application.start()
        await runner.setup()
        await web.TCPSite(runner, listen, port).start()
        logger.info("Webhook server listening on %s:%d%s", listen, port, path)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()  # until Ctrl-C or SIGTERM
        finally:
            await runner.cleanup()
            await application.stop()
            await post_stop(application)
            await post_shutdown(application)


# --- python -m bot telegram -----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot telegram`` (the token is read from TELEGRAM_BOT_TOKEN)."""
    parser.add_argument("--rasa-url", help="use the Rasa server already running at this URL")
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("TELEGRAM_WEBHOOK_URL"),
        help="public HTTPS URL Telegram posts updates to (default: long polling)",
    )
    parser.add_argument(
        "--listen",
        default=os.environ.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
        help="webhook mode: address our web server listens on (default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("TELEGRAM_WEBHOOK_PORT", "8443")),
        help="webhook mode: port our web server listens on (default 8443)",
    )


def run(args: argparse.Namespace) -> int:
    """Start the servers if needed, then serve the assistant on Telegram until Ctrl-C."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        print(
            "Set TELEGRAM_BOT_TOKEN to the token BotFather gave you "
            "(see README, 'Use it on Telegram').",
            file=sys.stderr,
        )
        return 2
    if args.rasa_url:
        return serve(token, args.rasa_url, args)
    from bot.servers import running_servers

    print("Starting the assistant, this takes about half a minute...", flush=True)
    try:
        with running_servers() as servers:
            return serve(token, servers.rasa_url, args)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1


def serve(token: str, rasa_url: str, args: argparse.Namespace) -> int:
    """Run the bot by long polling, or as a webhook if a webhook URL is given."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rasa = AsyncRasaClient(rasa_url, timeout=RASA_TIMEOUT, retry=TELEGRAM_RETRY, retry_empty=True)
    application = build_application(
        token, rasa, base_url=os.environ.get("TELEGRAM_API_BASE_URL") or None
    )
    if args.webhook_url:
        print(f"Serving on Telegram by webhook at {args.webhook_url}. Ctrl-C stops.", flush=True)
        asyncio.run(serve_webhook(application, args.webhook_url, args.listen, args.port))
        return 0
    print("Serving on Telegram by long polling. Ctrl-C stops.", flush=True)
    application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    return 0
