"""How things are now, for each outcome heard: going well, partly, not yet, or skip."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import (
    ConversationFormValidation,
    latest_intent,
    latest_message_id,
    latest_transcribed,
    person_key,
    storage_failed,
    with_storage,
)
from bot.dialogue import service
from bot.dialogue.status import status_from_intent
from bot.dialogue.wording import phrase, quote_before_full_stop
from bot.storage import repository as repo

DONE = "done"


class ValidateStatusForm(ConversationFormValidation):
    """Stores the status of the outcome just asked about (free words are kept as a
    statement), then asks about the next one.

    Slots: ``status_answer``, ``status_outcome``, ``pending_status``.
    """

    def name(self) -> str:
        return "validate_status_form"

    async def extract_status_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self.answer(tracker, "status_answer")
        return {} if text is None else {"status_answer": text}

    def validate_status_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset when the form opens, not something the person said
            return {"status_answer": None}
        intent, _ = latest_intent(tracker)
        status = status_from_intent("skip" if intent in ("dont_know", "done") else intent)
        outcome_id = tracker.get_slot("status_outcome")
        channel, user_id = person_key(tracker)
        message_id = latest_message_id(tracker)
        transcribed = latest_transcribed(tracker)

        def work(s: Session) -> dict[str, Any]:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                return {"status_answer": None}
            if status is None or outcome_id is None:
                service.hear(s, conversation, str(value), message_id, transcribed=transcribed)
                dispatcher.utter_message(response="utter_status_kept_words")
                return {"status_answer": None}
            if intent == "done":  # "that's all": skip the rest
                for pending in service.pending_status(s, conversation):
                    repo.set_outcome_status(s, conversation, pending, "skipped")
            else:
                repo.set_outcome_status(s, conversation, outcome_id, status)
            typed_status = (intent or "").startswith("status_") and not str(value).startswith("/")
            if typed_status:  # "it depends on the week": keep their words with the status
                words, _ = service.storable(str(value))
                repo.add_statement(
                    s, conversation, words, message_id=message_id, transcribed=transcribed
                )
            if service.pending_status(s, conversation):
                return {"status_answer": None, "status_outcome": None}
            return {"status_answer": DONE, "status_outcome": None, "pending_status": False}

        return with_storage(dispatcher, work, failed={"status_answer": None})

    def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, answered: bool
    ) -> list[EventType]:
        """How things are with the next outcome that has no status yet, quoting the person.

        Slots: ``status_outcome``.
        """
        channel, user_id = person_key(tracker)

        def next_outcome(s: Session) -> tuple[str, str, bool] | None:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                return None
            pending = service.pending_status(s, conversation)
            if not pending:
                return None
            first_asked = not any(item.status for item in repo.summary_items(s, conversation))
            return pending[0], repo.best_quote(s, conversation, pending[0]), first_asked

        found = with_storage(dispatcher, next_outcome, failed=None)
        if found is None:
            if not storage_failed(dispatcher):
                dispatcher.utter_message(response="utter_not_understood")
            return []
        outcome_id, quote, first_asked = found
        if first_asked and tracker.get_slot("status_outcome") is None:
            dispatcher.utter_message(response="utter_status_intro")
        dispatcher.utter_message(
            response="utter_ask_status",
            phrase=phrase(outcome_id),
            quote=quote_before_full_stop(quote),
        )
        return [SlotSet("status_outcome", outcome_id)]
