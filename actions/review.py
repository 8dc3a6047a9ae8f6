"""Review conversations: "how is it going now?" for each outcome a person saved earlier.

Each answer is stored as a dated review entry; nothing earlier is overwritten.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import (
    ConversationFormValidation,
    NamedAction,
    latest_intent,
    person_key,
    with_storage,
)
from bot.dialogue import service
from bot.dialogue.wording import phrase, quote_before_full_stop
from bot.storage import repository as repo

REVIEW_SLOTS = ("review_status", "review_helped", "review_not_helped", "review_still_matters")
REVIEW_STATUS_BY_INTENT = {
    "status_going_well": "fully_met",
    "status_partly": "partly_met",
    "status_not_yet": "not_met",
    "skip": "skipped",
    "dont_know": "skipped",
}
NOTHING_TO_ADD = {"skip", "deny", "done", "dont_know"}
EPOCH = "1970-01-01T00:00:00+00:00"


def pending_review(
    s: Session, tracker: Tracker, since: datetime | None = None
) -> list[tuple[str, str]]:
    """(outcome id, the person's words) not yet reviewed since ``since`` (default: since this
    review conversation started)."""
    channel, user_id = person_key(tracker)
    person = repo.find_person(s, channel, user_id)
    conversation = person and repo.latest_saved_conversation(s, person)
    if not conversation:
        return []
    if since is None:
        since = datetime.fromisoformat(tracker.get_slot("review_started") or EPOCH)
    done = repo.outcomes_reviewed_since(s, conversation, since)
    return [
        (i.outcome_id, i.quotes[0])
        for i in repo.summary_items(s, conversation)
        if i.outcome_id not in done
    ]


class ActionStartReview(NamedAction):
    """Opens a review of the person's latest saved conversation, if there is one.

    Slots: ``stage``, ``review_started`` and the review form's slots.
    """

    def name(self) -> str:
        return "action_start_review"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        started = datetime.now(timezone.utc)
        pending = with_storage(
            dispatcher, lambda s: pending_review(s, tracker, since=started), failed=None
        )
        if pending is None:
            return []
        if not pending:
            dispatcher.utter_message(response="utter_no_review_yet")
            return []
        return [
            SlotSet("stage", "reviewing"),
            SlotSet("review_started", started.isoformat()),
            SlotSet("review_outcome", None),
            *(SlotSet(slot, None) for slot in REVIEW_SLOTS),
        ]


class ActionAskReviewStatus(NamedAction):
    """Quotes the person's words for the next outcome and asks how it is going now.

    Slots: ``review_outcome``.
    """

    def name(self) -> str:
        return "action_ask_review_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = with_storage(dispatcher, lambda s: pending_review(s, tracker), failed=[])
        if not pending:
            dispatcher.utter_message(response="utter_not_understood")
            return []
        outcome_id, quote = pending[0]
        if tracker.get_slot("review_outcome") is None and not tracker.get_slot("review_any_done"):
            dispatcher.utter_message(response="utter_review_intro")
        dispatcher.utter_message(
            response="utter_ask_review_status",
            phrase=phrase(outcome_id),
            quote=quote_before_full_stop(quote),
        )
        return [SlotSet("review_outcome", outcome_id)]


class ValidateReviewForm(ConversationFormValidation):
    """Collects, per outcome: how it is going, what helped, what did not, whether it matters.

    When the four answers are in, one dated review entry is stored and the form moves on to
    the next outcome. Slots: the four ``review_*`` answers, ``review_outcome``.
    """

    def name(self) -> str:
        return "validate_review_form"

    async def extract_review_status(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "review_status")

    async def extract_review_helped(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "review_helped")

    async def extract_review_not_helped(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "review_not_helped")

    async def extract_review_still_matters(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "review_still_matters")

    def _answer(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        text = self.answer(tracker, slot)
        return {} if text is None else {slot: text}

    def validate_review_status(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"review_status": None}
        status = REVIEW_STATUS_BY_INTENT.get(latest_intent(tracker)[0] or "")
        if status is None:
            dispatcher.utter_message(response="utter_review_choose")
            return {"review_status": None}
        if status == "skipped":
            return self._store(dispatcher, tracker, status, None, None, None)
        return {"review_status": status}

    def validate_review_helped(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"review_helped": self._words(value, tracker)}

    def validate_review_not_helped(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"review_not_helped": self._words(value, tracker)}

    def validate_review_still_matters(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"review_still_matters": None}
        matters = {"affirm": True, "deny": False}.get(latest_intent(tracker)[0] or "")
        if matters is None:
            dispatcher.utter_message(response="utter_review_yes_or_no")
            return {"review_still_matters": None}
        return self._store(
            dispatcher,
            tracker,
            tracker.get_slot("review_status"),
            tracker.get_slot("review_helped") or None,
            tracker.get_slot("review_not_helped") or None,
            matters,
        )

    @staticmethod
    def _words(value: Any, tracker: Tracker) -> str | None:
        """The person's words, or "" for "nothing to add"; None (ask again) on a reset."""
        if value is None:
            return None
        if latest_intent(tracker)[0] in NOTHING_TO_ADD or str(value).startswith("/"):
            return ""
        return service.storable(str(value))[0]

    def _store(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        status: str,
        helped: str | None,
        not_helped: str | None,
        still_matters: bool | None,
    ) -> dict[str, Any]:
        outcome_id = tracker.get_slot("review_outcome")
        channel, user_id = person_key(tracker)

        def store(s: Session) -> bool:
            person = repo.find_person(s, channel, user_id)
            conversation = person and repo.latest_saved_conversation(s, person)
            if not conversation:
                return False
            quote = next(
                (
                    i.quotes[0]
                    for i in repo.summary_items(s, conversation)
                    if i.outcome_id == outcome_id
                ),
                "",
            )
            repo.add_review_entry(
                s,
                conversation,
                outcome_id,
                quote=quote,
                status=status,
                helped=helped,
                not_helped=not_helped,
                still_matters=still_matters,
            )
            return True

        if not with_storage(dispatcher, store, failed=False):
            return {slot: None for slot in REVIEW_SLOTS}
        self.log_turn("review_entry", outcome=outcome_id, status=status)
        more = with_storage(dispatcher, lambda s: bool(pending_review(s, tracker)), failed=False)
        if more:  # the form asks about the next outcome
            return {
                **{slot: None for slot in REVIEW_SLOTS},
                "review_outcome": None,
                "review_any_done": True,
            }
        return {
            "review_status": status,
            "review_helped": helped or "",
            "review_not_helped": not_helped or "",
            "review_still_matters": still_matters if still_matters is not None else "skipped",
        }


class ActionFinishReview(NamedAction):
    """Thanks the person, says the review is saved and dated, and asks if anything new matters.

    Slots: ``stage``.
    """

    def name(self) -> str:
        return "action_finish_review"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_review_saved")
        dispatcher.utter_message(response="utter_ask_anything_new")
        return [SlotSet("stage", "saved"), SlotSet("review_any_done", None)]


class ActionStartNewConversation(NamedAction):
    """Opens a new conversation for someone who already consented (after a review).

    Slots: ``stage``, ``reference`` and the story form's slots.
    """

    def name(self) -> str:
        return "action_start_new_conversation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)
        reference = with_storage(
            dispatcher, lambda s: service.give_consent(s, channel, user_id).reference, failed=None
        )
        if reference is None:
            return []
        return [
            SlotSet("stage", "talking"),
            SlotSet("reference", reference),
            SlotSet("story", None),
            SlotSet("asked_topics", []),
            SlotSet("last_prompt", None),
            SlotSet("pending_status", False),
            SlotSet("status_answer", None),
            SlotSet("clarify", None),
        ]
