"""Building rasa_sdk trackers and running actions the way the action server does."""

from __future__ import annotations

import asyncio
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """``domain.yml`` as the action server receives it."""
    return yaml.safe_load(DOMAIN_FILE.read_text())


def tracker(
    sender: str = "test:person-1",
    *,
    text: str = "",
    intent: str | None = "tell",
    confidence: float = 0.98,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    message_id: str | None = None,
) -> Tracker:
    """A tracker whose latest event is the person's message."""
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "message_id": message_id or uuid.uuid4().hex,
        "metadata": {},
    }
    all_slots = {name: spec.get("initial_value") for name, spec in domain()["slots"].items()}
    all_slots.update(slots or {})
    if active_loop:
        all_slots.setdefault("requested_slot", None)
    events = [{"event": "user", "text": text, "parse_data": message, "input_channel": "rest"}]
    return Tracker(
        sender,
        all_slots,
        message,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run(action: Action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``action``; returns (events, messages)."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, t, domain())
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return list(result), dispatcher.messages


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slot values the events set (last one wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(messages: list[dict[str, Any]]) -> list[str]:
    """The response names the action dispatched."""
    return [m.get("response") for m in messages]
