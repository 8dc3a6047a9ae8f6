"""A small client for Rasa's REST channel, with bounded retries when Rasa is busy or restarting."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class Button:
    """A choice the assistant offers: the words shown and the payload sent back."""

    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One reply: its text, any buttons, and any custom payload (e.g. a document)."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    custom: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BotMessage:
        """Build from an item of the REST channel's response."""
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in data.get("buttons") or []
        )
        custom = data.get("custom")
        return cls(
            str(data.get("text") or ""), buttons, custom if isinstance(custom, dict) else None
        )

    @property
    def document(self) -> dict[str, Any] | None:
        """A document the assistant sent (``filename``, ``markdown``, ``html``), if any."""
        document = (self.custom or {}).get("document")
        return document if isinstance(document, dict) else None


def request_body(
    sender: str, text: str, message_id: str | None, transcribed: bool = False
) -> dict[str, Any]:
    """The REST channel's JSON body; metadata carries the message id and the voice mark."""
    metadata: dict[str, Any] = {"message_id": message_id or uuid.uuid4().hex}
    if transcribed:
        metadata["transcribed"] = True
    return {"sender": sender, "message": text, "metadata": metadata}


class RasaUnavailable(Exception):
    """Rasa did not answer after all retries; the message was not delivered."""


@dataclass
class RetryPolicy:
    """How often and how long to retry a message Rasa could not take."""

    attempts: int = 6
    first_delay: float = 0.5
    max_delay: float = 8.0

    def delays(self) -> list[float]:
        """Waits between attempts, doubling up to ``max_delay``."""
        return [min(self.first_delay * 2**i, self.max_delay) for i in range(self.attempts - 1)]


class RasaClient:
    """Sends a person's message to Rasa and returns the assistant's replies."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5005",
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(timeout=timeout)
        self._sleep = sleep

    def send(
        self,
        sender: str,
        text: str,
        *,
        message_id: str | None = None,
        on_retry: Callable[[int], None] | None = None,
        transcribed: bool = False,
    ) -> list[BotMessage]:
        """Deliver ``text`` for ``sender``; retries (same ``message_id``) if Rasa is down.

        ``on_retry(attempt)`` is called before each retry, so a channel can tell the person
        their message is kept and will be answered shortly. ``transcribed`` marks words
        heard from a voice note (and confirmed by the person).
        """
        body = request_body(sender, text, message_id, transcribed)
        delays = self.retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                response = self._http.post(self.base_url + WEBHOOK_PATH, json=body)
                if response.status_code < 500:
                    response.raise_for_status()
                    return [BotMessage.from_json(item) for item in response.json()]
                logger.warning("Rasa answered %s (attempt %d)", response.status_code, attempt + 1)
            except httpx.TransportError as error:
                logger.warning(
                    "Rasa unreachable (attempt %d): %s", attempt + 1, type(error).__name__
                )
            if attempt < len(delays):
                if on_retry:
                    on_retry(attempt + 1)
                self._sleep(delays[attempt])
        raise RasaUnavailable(f"Rasa at {self.base_url} did not answer")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()


class AsyncRasaClient:
    """The asynchronous twin of :class:`RasaClient`, for channels that run on asyncio.

    Same REST body, same :class:`RetryPolicy`, same ``message_id`` on every attempt, so a
    message retried after a failure is stored once. With ``retry_empty``, an empty reply also
    counts as a failed attempt: Rasa answers ``[]`` when the action server is down (it logs
    the failed action and carries on), and every message of ours gets at least one reply.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5005",
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_empty: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.retry_empty = retry_empty
        self._http = httpx.AsyncClient(timeout=timeout)
        self._sleep = sleep

    async def send(
        self,
        sender: str,
        text: str,
        *,
        message_id: str | None = None,
        on_retry: Callable[[int], Awaitable[None]] | None = None,
        transcribed: bool = False,
    ) -> list[BotMessage]:
        """Deliver ``text`` for ``sender``; retries (same ``message_id``) if Rasa is down.

        ``await on_retry(attempt)`` runs before each retry.
        """
        body = request_body(sender, text, message_id, transcribed)
        delays = self.retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                response = await self._http.post(self.base_url + WEBHOOK_PATH, json=body)
                if response.status_code < 500:
                    response.raise_for_status()
                    replies = [BotMessage.from_json(item) for item in response.json()]
                    if replies or not self.retry_empty:
                        return replies
                    logger.warning("Rasa gave no reply (attempt %d)", attempt + 1)
                else:
                    logger.warning(
                        "Rasa answered %s (attempt %d)", response.status_code, attempt + 1
                    )
            except httpx.TransportError as error:
                logger.warning(
                    "Rasa unreachable (attempt %d): %s", attempt + 1, type(error).__name__
                )
            if attempt < len(delays):
                if on_retry:
                    await on_retry(attempt + 1)
                await self._sleep(delays[attempt])
        raise RasaUnavailable(f"Rasa at {self.base_url} did not answer")

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()
