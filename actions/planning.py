"""PA employers: a draft Personal Outcomes Plan from their saved conversation."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import NamedAction, person_key, with_storage
from bot.planning.plan import Plan, build_plan, render_html, render_markdown, render_text
from bot.storage import repository as repo


class ActionSendPlan(NamedAction):
    """Shows the draft plan in the chat and attaches it as a document (Markdown and HTML).

    The document travels as a custom payload ``{"document": {...}}`` that each channel
    delivers its own way (a file on Telegram, a saved file in the terminal).
    """

    def name(self) -> str:
        return "action_send_plan"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel, user_id = person_key(tracker)

        def plan(s: Session) -> Plan | None:
            person = repo.find_person(s, channel, user_id)
            conversation = person and repo.latest_saved_conversation(s, person)
            if not conversation:
                return None
            return build_plan(conversation.reference, repo.summary_items(s, conversation))

        result = with_storage(dispatcher, plan, failed=None)
        if result is None:
            dispatcher.utter_message(response="utter_no_plan_yet")
            return []
        markdown = render_markdown(result)
        dispatcher.utter_message(response="utter_plan", plan=render_text(result))
        dispatcher.utter_message(
            json_message={
                "document": {
                    "filename": f"personal-outcomes-plan-{result.reference}",
                    "markdown": markdown,
                    "html": render_html(result),
                }
            }
        )
        return []
