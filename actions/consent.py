"""Consent: nothing is stored until the person says yes."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ConversationFormValidation, latest_intent, person_key, with_storage
from bot.dialogue import service


class ValidateConsentForm(ConversationFormValidation):
    """Reads a yes or no to keeping the person's words; asks again kindly otherwise.

    Slots: ``consent``, ``stage``, ``reference``.
    """

    def name(self) -> str:
        return "validate_consent_form"

    async def extract_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self.answer(tracker, "consent") is None:
            return {}
        intent, _ = latest_intent(tracker)
        return {"consent": {"affirm": True, "deny": False}.get(intent or "")}

    def validate_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            dispatcher.utter_message(response="utter_consent_unclear")
            return {"consent": None}
        if value is False:
            return {"consent": False, "stage": "declined"}
        channel, user_id = person_key(tracker)
        reference = with_storage(
            dispatcher,
            lambda s: service.give_consent(s, channel, user_id).reference,
            failed=None,
        )
        if reference is None:
            return {"consent": None}
        self.log_turn("consent_given", channel=channel, reference=reference)
        return {"consent": True, "stage": "talking", "reference": reference}
