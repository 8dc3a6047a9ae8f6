"""Side remarks and moving around the conversation: brief answers, pause, carry on, start again."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import NamedAction, latest_intent, person_key, with_storage
from bot.dialogue import service
from bot.dialogue.interruptions import greeting_reply
from bot.storage import repository as repo

BRIEF_ANSWERS = {
    "help": "utter_help",
    "chitchat_bot": "utter_iamabot",
    "chitchat_how_are_you": "utter_how_am_i",
    "thanks": "utter_you_are_welcome",
    "out_of_scope": "utter_out_of_scope",
    "dont_know": "utter_take_your_time",
    "resume": "utter_welcome_back",
}


def pause_events(tracker: Tracker, dispatcher: CollectingDispatcher) -> list[EventType]:
    """Step out of the current question, remembering it, and mark the conversation paused.

    ``paused_loop`` is always set (to the form, or ``none``), so "carry on" never reopens a
    question from an earlier pause.
    """
    loop = tracker.active_loop.get("name") if tracker.active_loop else None
    if not loop or tracker.get_slot("stage") != "talking":
        return ([ActiveLoop(None)] if loop else []) + [SlotSet("paused_loop", "none")]
    channel, user_id = person_key(tracker)

    def pause(s: Session) -> None:
        conversation = service.conversation_for(s, channel, user_id)
        if conversation is not None:
            repo.set_status(s, conversation, "paused")

    with_storage(dispatcher, pause, failed=None)
    return [
        ActiveLoop(None),
        # so that when the form reopens, the message that reopened it is not taken as an answer
        SlotSet("requested_slot", None),
        SlotSet("paused_loop", loop),
        SlotSet("stage", "paused"),
    ]


class ActionBriefAnswer(NamedAction):
    """Answers help, chit-chat and out-of-scope messages in a line; the form then carries on."""

    def name(self) -> str:
        return "action_brief_answer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent, _ = latest_intent(tracker)
        if intent == "greet":
            dispatcher.utter_message(response=greeting_reply(tracker.events))
            return []
        dispatcher.utter_message(response=BRIEF_ANSWERS.get(intent or "", "utter_help"))
        return []


class ActionPause(NamedAction):
    """Pauses where the person is; "carry on" picks it up again, even days later."""

    def name(self) -> str:
        return "action_pause"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("stage") in ("talking", "paused"):
            dispatcher.utter_message(response="utter_paused")
        else:
            dispatcher.utter_message(response="utter_goodbye_plain")
        return pause_events(tracker, dispatcher)


class ActionGoodbye(NamedAction):
    """Says goodbye; in the middle of a conversation that is a pause."""

    def name(self) -> str:
        return "action_goodbye"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("stage") in ("talking", "paused"):
            dispatcher.utter_message(response="utter_goodbye")
        else:
            dispatcher.utter_message(response="utter_goodbye_plain")
        return pause_events(tracker, dispatcher)


class ActionResume(NamedAction):
    """Welcomes the person back; the rules then reopen the question they paused at.

    Slots: ``paused_loop``, ``stage``.
    """

    def name(self) -> str:
        return "action_resume"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("paused_loop") in (None, "none"):
            return []
        channel, user_id = person_key(tracker)

        def reopen(s: Session) -> None:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is not None:
                repo.set_status(s, conversation, "open")

        with_storage(dispatcher, reopen, failed=None)
        if latest_intent(tracker)[0] in ("greet", "resume"):
            dispatcher.utter_message(response="utter_welcome_back")
            return [SlotSet("stage", "talking")]
        # They simply carried on talking: let the form take this message as its answer.
        loop = tracker.get_slot("paused_loop")
        first_slot = (domain.get("forms", {}).get(loop, {}).get("required_slots") or [None])[0]
        return [SlotSet("stage", "talking"), SlotSet("requested_slot", first_slot)]


class ActionStartAgain(NamedAction):
    """Closes the conversation in progress (its words stay stored) and starts from the top."""

    def name(self) -> str:
        return "action_start_again"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)

        def close(s: Session) -> None:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is not None:
                repo.set_status(s, conversation, "restarted")

        with_storage(dispatcher, close, failed=None)
        dispatcher.utter_message(response="utter_start_again")
        return [ActiveLoop(None), AllSlotsReset()]


def latest_choices(tracker: Tracker) -> list[dict]:
    """The buttons of the assistant's latest message, if it offered any."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return list((event.get("data") or {}).get("buttons") or [])
    return []


class ActionNotUnderstood(NamedAction):
    """Says kindly that the message was not understood, offers the same choices again (the
    reply asks the person to choose one), and waits for the next message.

    The message stays in the tracker store; reverting it only stops it steering the dialogue.
    """

    def name(self) -> str:
        return "action_not_understood"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_not_understood", buttons=latest_choices(tracker))
        return [UserUtteranceReverted()]
