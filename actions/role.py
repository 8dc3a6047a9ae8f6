"""Who the person is: someone who gets support, an unpaid carer, or a PA employer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ConversationFormValidation, latest_intent, person_key, with_storage
from bot.dialogue import service
from bot.dialogue.roles import role_from_intent, role_from_words


class ValidateRoleForm(ConversationFormValidation):
    """Takes the role from a button or from the person's own words.

    Slots: ``role``.
    """

    def name(self) -> str:
        return "validate_role_form"

    async def extract_role(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self.answer(tracker, "role")
        if text is None:
            return {}
        intent, _ = latest_intent(tracker)
        return {"role": role_from_intent(intent) or role_from_words(text)}

    def validate_role(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            dispatcher.utter_message(response="utter_role_unclear")
            return {"role": None}
        channel, user_id = person_key(tracker)
        stored = with_storage(
            dispatcher, lambda s: service.choose_role(s, channel, user_id, value) or True, False
        )
        return {"role": value if stored else None}
