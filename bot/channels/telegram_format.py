"""Turning the assistant's replies into Telegram messages, and button presses back into payloads.

Replies are sent in HTML parse mode. Everything in a reply's text comes from Rasa and may hold
the person's own words, so all of it is escaped with :func:`html.escape`; the only markup is
ours (bold group headings in the summary, bullets, the chosen-button note).
"""

from __future__ import annotations

import html
import json
from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.rasa_client import BotMessage, Button
from bot.outcomes.framework import GROUPS

MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
MAX_MESSAGE_CHARS = 4096  # Telegram's limit for a message's text (after entity parsing)
KEY_PREFIX = "#"  # callback_data starting with this is a short key, not a payload

# Lines that start a block in the summary and in "show my data": shown in bold.
HEADINGS = frozenset(group.title for group in GROUPS.values())
BULLET = "\u2022"


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` escaped: all Telegram's HTML mode needs outside attributes."""
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class OutgoingMessage:
    """One Telegram message: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def reply_html(text: str) -> str:
    """The text of a reply as escaped HTML, with the summary's headings in bold."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in HEADINGS or (
            stripped.startswith("Conversation ") and stripped.endswith(":")
        ):
            lines.append(f"<b>{escape(stripped)}</b>")
        elif stripped.startswith("- "):
            lines.append(f"{BULLET} {escape(stripped[2:])}")
        else:
            lines.append(escape(line))
    return "\n".join(lines)


def split_long(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split HTML text at line breaks into parts Telegram accepts (no tag spans lines)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one enormous line: cut it (rare; only plain text lines)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


class PayloadKeys:
    """Short keys for payloads longer than Telegram's 64-byte ``callback_data``, per chat.

    Payloads that fit (after compacting the JSON of ``/intent{...}``) travel as they are, so
    they keep working after a restart; longer ones get a key like ``#12`` kept in memory for
    the last ``capacity`` buttons of each chat.
    """

    def __init__(self, capacity: int = 200) -> None:
        self.capacity = capacity
        self._keys: dict[int, OrderedDict[str, str]] = {}
        self._next = 0

    def encode(self, chat_id: int, payload: str) -> str:
        """The ``callback_data`` for ``payload`` in this chat."""
        compact = compact_payload(payload)
        if len(compact.encode()) <= MAX_CALLBACK_BYTES and not compact.startswith(KEY_PREFIX):
            return compact
        keys = self._keys.setdefault(chat_id, OrderedDict())
        self._next += 1
        key = f"{KEY_PREFIX}{self._next}"
        keys[key] = payload
        while len(keys) > self.capacity:
            keys.popitem(last=False)
        return key

    def decode(self, chat_id: int, data: str) -> str | None:
        """The payload a button carried, or ``None`` if its key is no longer known."""
        if not data.startswith(KEY_PREFIX):
            return data
        return self._keys.get(chat_id, {}).get(data)

    def forget(self, chat_id: int) -> None:
        """Drop a chat's keys (after they delete their data)."""
        self._keys.pop(chat_id, None)


def compact_payload(payload: str) -> str:
    """``/intent{"outcome": "x"}`` as ``/intent{"outcome":"x"}``; Rasa reads both the same."""
    brace = payload.find("{")
    if not payload.startswith("/") or brace < 0:
        return payload
    try:
        entities = json.loads(payload[brace:])
    except ValueError:
        return payload
    return payload[:brace] + json.dumps(entities, separators=(",", ":"), ensure_ascii=False)


def keyboard(chat_id: int, buttons: tuple[Button, ...], keys: PayloadKeys) -> InlineKeyboardMarkup:
    """One button per row: titles can be long (summary items quote the person)."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.title, callback_data=keys.encode(chat_id, b.payload))]
            for b in buttons
        ]
    )


def to_telegram(chat_id: int, reply: BotMessage, keys: PayloadKeys) -> list[OutgoingMessage]:
    """One Rasa reply as Telegram messages (more than one only if it is very long)."""
    parts = split_long(reply_html(reply.text))
    markup = keyboard(chat_id, reply.buttons, keys) if reply.buttons else None
    return [
        OutgoingMessage(part, markup if i == len(parts) - 1 else None)
        for i, part in enumerate(parts)
        if part.strip() or (markup and i == len(parts) - 1)
    ]


def chosen_note(title: str) -> str:
    """The line added under a message whose button was pressed, so the choice stays visible."""
    return f"<i>\u2714 {escape(title)}</i>"
