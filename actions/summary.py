"""Reading the summary back: the person confirms it, takes something out, rewords or adds."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import (
    ConversationFormValidation,
    NamedAction,
    latest_message_id,
    latest_transcribed,
    person_key,
    with_storage,
)
from bot.dialogue import service
from bot.dialogue.rendering import render_summary
from bot.dialogue.wording import phrase, quote_before_full_stop, short_quote
from bot.outcomes.framework import OUTCOMES
from bot.storage import repository as repo


def summary_text(s: Session, conversation) -> str:
    """The summary as the person sees it and as it is saved."""
    return render_summary(
        repo.summary_items(s, conversation), repo.words_without_outcomes(s, conversation)
    )


def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Dispatch the summary of the person's conversation in progress."""
    channel, user_id = person_key(tracker)

    def summary(s: Session) -> str | None:
        conversation = service.conversation_for(s, channel, user_id)
        if conversation is None:
            return None
        return summary_text(s, conversation)

    text = with_storage(dispatcher, summary, failed=None)
    if text is None:
        dispatcher.utter_message(response="utter_nothing_to_save")
    elif text:
        dispatcher.utter_message(response="utter_summary", summary=text)
    else:
        dispatcher.utter_message(response="utter_summary_words_only")


def summary_choices(tracker: Tracker, dispatcher: CollectingDispatcher) -> list[tuple[str, str]]:
    """(outcome id, the person's words) for each outcome in the summary."""
    channel, user_id = person_key(tracker)

    def items(s: Session) -> list[tuple[str, str]]:
        conversation = service.conversation_for(s, channel, user_id)
        if conversation is None:
            return []
        return [(i.outcome_id, i.quotes[0]) for i in repo.summary_items(s, conversation)]

    return with_storage(dispatcher, items, failed=[])


def item_buttons(choices: list[tuple[str, str]], intent: str) -> list[dict]:
    """One button per outcome in the summary, with the payload ``/<intent>{"outcome": id}``."""
    return [
        {
            "title": f"{phrase(outcome_id).capitalize()}: \u201c{short_quote(quote, 8)}\u201d",
            "payload": f'/{intent}{{"outcome": "{outcome_id}"}}',
        }
        for outcome_id, quote in choices
    ]


def chosen_outcome(tracker: Tracker, choices: list[tuple[str, str]]) -> str | None:
    """The outcome a summary button carried, if it is in the summary."""
    chosen = next(tracker.get_latest_entity_values("outcome"), None)
    return chosen if chosen in {outcome_id for outcome_id, _ in choices} else None


def ask_which(
    dispatcher: CollectingDispatcher, choices: list[tuple[str, str]], intent: str, response: str
) -> None:
    """Offer the summary's outcomes as buttons, or say there is nothing to change."""
    if choices:
        dispatcher.utter_message(response=response, buttons=item_buttons(choices, intent))
    else:
        dispatcher.utter_message(response="utter_nothing_to_change")


class ActionShowSummary(NamedAction):
    """Reads back what was heard, grouped, in the person's words."""

    def name(self) -> str:
        return "action_show_summary"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        show_summary(dispatcher, tracker)
        return []


class ActionSaveSummary(NamedAction):
    """Saves the confirmed summary and gives the person its reference.

    Slots: ``stage``, ``reference``.
    """

    def name(self) -> str:
        return "action_save_summary"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)

        def save(s: Session) -> str | None:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                return None
            body = summary_text(s, conversation)
            repo.save_summary(s, conversation, body)
            return conversation.reference

        reference = with_storage(dispatcher, save, failed="")
        if reference == "":
            return []
        if reference is None:
            dispatcher.utter_message(response="utter_nothing_to_save")
            return []
        dispatcher.utter_message(response="utter_saved", reference=reference)
        if tracker.get_slot("role") == "pa_employer":
            dispatcher.utter_message(response="utter_offer_plan")
        else:
            dispatcher.utter_message(response="utter_goodbye_saved")
        return [SlotSet("stage", "saved"), SlotSet("reference", reference)]


class ActionRemoveItem(NamedAction):
    """Takes one outcome out of the summary (the words stay stored, marked removed)."""

    def name(self) -> str:
        return "action_remove_item"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        choices = summary_choices(tracker, dispatcher)
        outcome_id = chosen_outcome(tracker, choices)
        if outcome_id is None:
            ask_which(dispatcher, choices, "remove_item", "utter_ask_which_remove")
            return []
        channel, user_id = person_key(tracker)

        def remove(s: Session) -> bool:
            conversation = service.conversation_for(s, channel, user_id)
            return conversation is not None and repo.remove_outcome(s, conversation, outcome_id) > 0

        if with_storage(dispatcher, remove, failed=False):
            dispatcher.utter_message(response="utter_removed", phrase=phrase(outcome_id))
        show_summary(dispatcher, tracker)
        return []


class ActionRewordItem(NamedAction):
    """Chooses the outcome to reword; the reword form then asks for the new words.

    Slots: ``reword_target``.
    """

    def name(self) -> str:
        return "action_reword_item"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        choices = summary_choices(tracker, dispatcher)
        outcome_id = chosen_outcome(tracker, choices)
        if outcome_id is None:
            ask_which(dispatcher, choices, "reword_item", "utter_ask_which_reword")
        return [SlotSet("reword_target", outcome_id), SlotSet("new_wording", None)]


class ValidateRewordForm(ConversationFormValidation):
    """Asks for and stores the person's new words for an outcome; the earlier words are kept,
    marked removed.

    Slots: ``new_wording``, ``reword_target``.
    """

    def name(self) -> str:
        return "validate_reword_form"

    async def extract_new_wording(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self.answer(tracker, "new_wording")
        return {} if text is None else {"new_wording": text}

    def validate_new_wording(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset when the form opens, not something the person said
            return {"new_wording": None}
        outcome_id = tracker.get_slot("reword_target")
        channel, user_id = person_key(tracker)
        message_id = latest_message_id(tracker)
        transcribed = latest_transcribed(tracker)

        def reword(s: Session) -> bool:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None or outcome_id not in OUTCOMES:
                return False
            words, _ = service.storable(str(value))
            repo.reword_outcome(
                s, conversation, outcome_id, words, message_id=message_id, transcribed=transcribed
            )
            return True

        if not with_storage(dispatcher, reword, failed=False):
            return {"new_wording": None}
        dispatcher.utter_message(response="utter_reworded")
        return {"new_wording": str(value), "reword_target": None}

    def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, answered: bool
    ) -> list[EventType]:
        """Quotes the current words and asks how the person would like to put it."""
        outcome_id = tracker.get_slot("reword_target")
        channel, user_id = person_key(tracker)

        def quote(s: Session) -> str:
            conversation = service.conversation_for(s, channel, user_id)
            return repo.best_quote(s, conversation, outcome_id) if conversation else ""

        current: str | None = with_storage(dispatcher, quote, failed=None)
        if current is None:
            return []  # the person has been told storage failed: no question with no words
        dispatcher.utter_message(
            response="utter_reword_question", quote=quote_before_full_stop(current)
        )
        return []
