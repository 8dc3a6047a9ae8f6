"""Distress: a kind answer with where to get help now, a pause, and a flag for a practitioner."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import (
    NamedAction,
    latest_message_id,
    latest_text,
    latest_transcribed,
    person_key,
    with_storage,
)
from actions.control import pause_events
from bot.dialogue import service
from bot.settings import get_settings
from bot.storage import repository as repo

logger = logging.getLogger(__name__)


class ActionHandleDistress(NamedAction):
    """Gives help now, keeps the message (if the person consented) and flags the conversation."""

    def name(self) -> str:
        return "action_handle_distress"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_crisis", help_text=get_settings().crisis_help_text)
        channel, user_id = person_key(tracker)
        text, message_id = latest_text(tracker), latest_message_id(tracker)
        transcribed = latest_transcribed(tracker)

        def flag(s: Session) -> str | None:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                return None
            words, _ = service.storable(text)
            repo.add_statement(
                s,
                conversation,
                words,
                source="distress",
                message_id=message_id,
                transcribed=transcribed,
            )
            repo.flag_conversation(s, conversation, "distress")
            return conversation.reference

        reference = with_storage(dispatcher, flag, failed=None)
        logger.warning("Distress message: conversation %s flagged", reference or "(not stored)")
        return pause_events(tracker, dispatcher)
