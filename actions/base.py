"""What every action shares: who is talking, what they said, and safe database access.

Nothing here opens a database or loads a model at import time: the action server imports
every module under ``actions/`` when it starts.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.dialogue.identity import channel_and_user
from bot.dialogue.interruptions import is_interruption
from bot.storage.db import session_scope

logger = logging.getLogger(__name__)
T = TypeVar("T")


def person_key(tracker: Tracker) -> tuple[str, str]:
    """(channel, user id) of the person in this conversation."""
    return channel_and_user(tracker.sender_id, tracker.get_latest_input_channel())


def latest_intent(tracker: Tracker) -> tuple[str | None, float | None]:
    """Name and confidence of the latest message's intent."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def latest_text(tracker: Tracker) -> str:
    """The latest message exactly as the person wrote it."""
    return tracker.latest_message.get("text") or ""


def latest_message_id(tracker: Tracker) -> str | None:
    """The id of the latest message: storing by it means a repeated delivery is stored once.

    Our channels send their own id (Telegram's update id, the web chat's form token) in the
    message metadata, so a channel's retry of the same message carries the same id; without
    one, Rasa's own id is used.
    """
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("message_id") or tracker.latest_message.get("message_id")


def latest_transcribed(tracker: Tracker) -> bool:
    """Whether the latest message was heard from a voice note (the channel marks it in the
    metadata once the person has confirmed the transcript)."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("transcribed") is True


# Waits (seconds) before retrying a transaction that failed because the database could not be
# reached (OperationalError: refused, restarting, connection dropped). Bounded: about 3.5 s in
# all, well inside Rasa's action timeout, so a database that blips or restarts quickly costs
# the person nothing, and one that stays down gets an honest answer soon.
STORAGE_RETRY_DELAYS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
STORAGE_TROUBLE = "utter_storage_trouble"


def with_storage(dispatcher: CollectingDispatcher, work: Callable[[Session], T], failed: T) -> T:
    """Run ``work`` in one transaction; if the database fails, tell the person and return
    ``failed`` so the conversation stays where it was and they can send it again.

    A transaction that fails because the database cannot be reached is rolled back and run
    again after each of ``STORAGE_RETRY_DELAYS``; messages ``work`` dispatched during an
    attempt that is retried are withdrawn, so the person hears each reply once. Other database
    errors are not retried.
    """
    delays = iter(STORAGE_RETRY_DELAYS)
    attempt = 0
    while True:
        attempt += 1
        dispatched = len(dispatcher.messages)
        try:
            with session_scope() as session:
                return work(session)
        except OperationalError:
            delay = next(delays, None)
            if delay is None:
                logger.exception("Database unavailable after %d attempts", attempt)
                break
            del dispatcher.messages[dispatched:]
            logger.warning("Database unavailable (attempt %d); retrying in %.2f s", attempt, delay)
            time.sleep(delay)
        except SQLAlchemyError:
            logger.exception("Database error while handling a message")
            break
    dispatcher.utter_message(response=STORAGE_TROUBLE)
    return failed


def storage_failed(dispatcher: CollectingDispatcher) -> bool:
    """Whether this action has already told the person that storage failed."""
    return any(m.get("response") == STORAGE_TROUBLE for m in dispatcher.messages)


def only_the_form_ran_since_message(tracker: Tracker, form: str) -> bool:
    """Whether ``form`` is running straight after the person's message (no rule in between).

    Rasa then rejects the form's turn if its validation took no answer, and the rules answer
    the message instead; nothing the validation said reaches the person.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in (form, "action_listen"):
            return False  # a rule answered a side remark and handed back to the form
    return False


class NamedAction(Action, ABC):
    """An action whose name is declared by the subclass."""

    @abstractmethod
    def name(self) -> str:
        """The action's name in ``domain.yml``."""


class ConversationFormValidation(FormValidationAction, ABC):
    """Validation for a form whose slot takes any answer except a side remark.

    A side remark (help, stop, distress...) is left unextracted, so the form steps aside and
    the rules in ``nlu_data/rules/control.yml`` answer it and return to the form.

    The validation also asks the form's next question whenever Rasa would (``ask``), so a
    turn costs one call to the action server instead of two: the domain has no
    ``action_ask_<slot>`` or ``utter_ask_<slot>`` for such a slot, and Rasa then leaves the
    asking to the validation (``FormAction._ask_for_slot``). Forms whose question is a plain
    ``utter_ask_<slot>`` keep the default ``ask``, which says nothing. Naming the next slot
    when the form opens also spares Rasa's second validation call at opening.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate as rasa_sdk does, then ask the next question if the form goes on."""
        events = await super().run(dispatcher, tracker, domain)  # also updates tracker.slots
        slots = self.domain_slots(domain)
        took_answer = any(e.get("event") == "slot" and e.get("name") in slots for e in events)
        stopped = any(
            e.get("event") == "slot" and e.get("name") == REQUESTED_SLOT and e.get("value") is None
            for e in events
        )
        next_slot = next((slot for slot in slots if tracker.get_slot(slot) is None), None)
        if stopped or next_slot is None or storage_failed(dispatcher):
            return events
        opening = tracker.get_slot(REQUESTED_SLOT) is None  # Rasa has asked nothing yet
        side_remark = not (opening or took_answer)
        if side_remark and only_the_form_ran_since_message(tracker, self.form_name()):
            return events
        asked = self.ask(dispatcher, tracker, answered=took_answer)
        if opening:  # Rasa would otherwise run this validation a second time to find the slot
            asked.append(SlotSet(REQUESTED_SLOT, next_slot))
        return [*events, *asked]

    def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, answered: bool
    ) -> list[EventType]:
        """Ask for the form's next slot; ``answered``: the person's message was just taken
        as an answer (``tracker.slots`` already hold what the validation set).

        The default says nothing: Rasa asks with the domain's ``utter_ask_<slot>``.
        """
        return []

    @abstractmethod
    def name(self) -> str:
        """``validate_<form name>``."""

    def answer(self, tracker: Tracker, slot: str) -> str | None:
        """The latest message if it answers the question for ``slot``, else None."""
        if tracker.get_slot("requested_slot") != slot:
            return None
        intent, confidence = latest_intent(tracker)
        text = latest_text(tracker)
        if is_interruption(intent, confidence, text):
            return None
        return text

    @staticmethod
    def log_turn(action: str, **fields: Any) -> None:
        """Log what happened without the person's words."""
        logger.info("%s %s", action, " ".join(f"{k}={v}" for k, v in fields.items()))
