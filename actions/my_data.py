"""The person's rights: see everything stored about them, and delete it."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import NamedAction, person_key, with_storage
from actions.control import pause_events
from bot.dialogue.rendering import render_record
from bot.storage import repository as repo


class ActionShowMyData(NamedAction):
    """Shows everything stored about the person, in their words."""

    def name(self) -> str:
        return "action_show_my_data"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)

        def record(s: Session) -> str | None:
            person = repo.find_person(s, channel, user_id)
            return None if person is None else render_record(repo.person_record(s, person))

        text = with_storage(dispatcher, record, failed="")
        if text:
            dispatcher.utter_message(response="utter_your_data", record=text)
        elif text is None:
            dispatcher.utter_message(response="utter_nothing_stored")
        return []


class ActionAskDelete(NamedAction):
    """Asks for confirmation before deleting; the conversation steps aside meanwhile."""

    def name(self) -> str:
        return "action_ask_delete"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_delete")
        return pause_events(tracker, dispatcher)


class ActionDeleteMyData(NamedAction):
    """Deletes the person and everything stored about them, then forgets the conversation."""

    def name(self) -> str:
        return "action_delete_my_data"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)

        def delete(s: Session) -> bool:
            person = repo.find_person(s, channel, user_id)
            if person is not None:
                repo.delete_person(s, person)
            return True

        if not with_storage(dispatcher, delete, failed=False):
            return []
        dispatcher.utter_message(response="utter_deleted")
        return [ActiveLoop(None), AllSlotsReset()]
