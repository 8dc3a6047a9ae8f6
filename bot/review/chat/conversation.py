"""The web chat's side of a Rasa conversation: send a message, and read the conversation back.

Nothing of the conversation is kept in the browser or in this app: the page is rebuilt from
Rasa's tracker (its HTTP API) every time, so it survives restarts, works with several Rasa
instances sharing a tracker store, and forgets what Rasa forgets when a person deletes their
data. Logs never hold what people wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bot.channels.rasa_client import BotMessage, Button, RasaClient, RasaUnavailable, RetryPolicy
from bot.channels.telegram_format import HEADINGS

logger = logging.getLogger(__name__)

# Payloads the page's own controls send, with the words shown as the person's message.
CONTROLS: dict[str, tuple[str, str]] = {
    "show_my_data": ("/show_my_data", "See what is stored about me"),
    "delete_my_data": ("/delete_my_data", "Delete what is stored about me"),
    "help": ("/help", "Help"),
}
START_PAYLOAD = "/greet"
# A web request should not hang for long: two quick retries, then the person is told.
WEB_RETRY = RetryPolicy(attempts=3, first_delay=0.5, max_delay=2.0)


@dataclass(frozen=True)
class Block:
    """A piece of an assistant message: a paragraph, a heading or a list of items."""

    kind: str  # "p", "heading" or "list"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One message in the conversation as the page shows it."""

    speaker: str  # "person", "assistant" or "notice"
    text: str
    buttons: tuple[Button, ...] = ()
    document: str | None = None  # a document's file name, offered as download links
    transcribed: bool = False

    @property
    def blocks(self) -> list[Block]:
        """The text as paragraphs, headings (summary groups) and lists (``- `` lines)."""
        return text_blocks(self.text)


@dataclass
class History:
    """The conversation so far and the choices the assistant last offered."""

    entries: list[Entry] = field(default_factory=list)
    buttons: tuple[Button, ...] = ()

    @property
    def documents(self) -> set[str]:
        return {e.document for e in self.entries if e.document}


def text_blocks(text: str) -> list[Block]:
    """Split an assistant message into blocks; the words are escaped by the template."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("p", tuple(paragraph)))
            paragraph.clear()
        if items:
            blocks.append(Block("list", tuple(items)))
            items.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("- "):
            if paragraph:
                flush()
            items.append(stripped[2:])
        elif not stripped:
            flush()
        elif stripped in HEADINGS or (
            stripped.startswith("Conversation ") and stripped.endswith(":")
        ):
            flush()
            blocks.append(Block("heading", (stripped,)))
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return blocks


def _document_name(custom: Any) -> str | None:
    document = custom.get("document") if isinstance(custom, dict) else None
    name = document.get("filename") if isinstance(document, dict) else None
    return str(name) if name else None


def reply_entries(replies: Iterable[BotMessage]) -> list[Entry]:
    """The assistant's replies to one message, as entries."""
    entries = []
    for reply in replies:
        name = _document_name(reply.custom)
        if reply.text or reply.buttons or name:
            entries.append(Entry("assistant", reply.text, reply.buttons, name))
    return entries


def shown_as(text: str, offered: dict[str, str]) -> str | None:
    """What a person's message looks like on the page: a payload shows as the button's
    words; the start and unknown payloads are not shown."""
    if not text.startswith("/"):
        return text
    if text in offered:
        return offered[text]
    for payload, title in CONTROLS.values():
        if payload == text:
            return title
    return None


def history_from_events(events: Iterable[dict[str, Any]]) -> History:
    """The page's conversation from Rasa's tracker events (``user`` and ``bot`` only)."""
    history = History()
    offered: dict[str, str] = {}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = shown_as(str(event.get("text") or ""), offered)
            metadata = event.get("metadata") or {}
            if text is not None:
                history.entries.append(
                    Entry("person", text, transcribed=bool(metadata.get("transcribed")))
                )
            offered = {}
            history.buttons = ()
        elif kind == "bot":
            data = event.get("data") or {}
            reply = BotMessage.from_json({**data, "text": event.get("text")})
            for entry in reply_entries([reply]):
                history.entries.append(entry)
            if reply.buttons:
                offered = {b.payload: b.title for b in reply.buttons}
                history.buttons = reply.buttons
    return history


def find_document(events: Iterable[dict[str, Any]], filename: str) -> dict[str, Any] | None:
    """The latest document called ``filename`` the assistant sent in this conversation."""
    found = None
    for event in events:
        if event.get("event") == "bot":
            custom = (event.get("data") or {}).get("custom")
            if _document_name(custom) == filename:
                found = custom["document"]
    return found


class ChatRasa:
    """Rasa for the web chat: the REST channel to send, the HTTP API to read a tracker."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = RasaClient(self.base_url, timeout=timeout, retry=WEB_RETRY)
        self._http = httpx.Client(timeout=10.0)

    def send(
        self, sender: str, text: str, message_id: str, *, transcribed: bool = False
    ) -> list[BotMessage]:
        """Deliver a message; raises :class:`RasaUnavailable` if Rasa (or the action server,
        which leaves Rasa with nothing to say) did not answer."""
        replies = self.client.send(sender, text, message_id=message_id, transcribed=transcribed)
        if not replies:
            logger.warning("Rasa gave no reply to a web chat message")
            raise RasaUnavailable("no reply")
        return replies

    def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's tracker events; raises :class:`RasaUnavailable` on failure."""
        url = f"{self.base_url}/conversations/{quote(sender, safe=':')}/tracker"
        try:
            response = self._http.get(url)
            response.raise_for_status()
        except httpx.HTTPError as error:
            logger.warning("Could not read a web chat tracker: %s", type(error).__name__)
            raise RasaUnavailable("tracker not available") from error
        return list(response.json().get("events") or [])

    def history(self, sender: str) -> History:
        """The conversation so far, as the page shows it."""
        return history_from_events(self.events(sender))

    def close(self) -> None:
        self.client.close()
        self._http.close()
