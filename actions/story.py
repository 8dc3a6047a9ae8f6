"""The open conversation: the person's story, reflected back, with gentle follow-ups."""

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
    latest_intent,
    latest_message_id,
    latest_text,
    latest_transcribed,
    person_key,
    with_storage,
)
from bot.dialogue import service
from bot.dialogue.topics import ANYTHING_ELSE, OPENING, current_prompt, next_topic
from bot.dialogue.wording import phrase, short_quote
from bot.storage import repository as repo

SHORT_ANSWER_WORDS = 8


class ValidateStoryForm(ConversationFormValidation):
    """Stores each answer verbatim with the outcomes heard in it, reflects it back and asks
    the next question.

    The form keeps going (``story`` stays empty) until the person says that's all.
    Slots: ``story``, ``pending_status``, ``role``.
    """

    def name(self) -> str:
        return "validate_story_form"

    async def extract_story(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = self.answer(tracker, "story")
        return {} if text is None else {"story": text}

    def validate_story(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset when the form opens, not something the person said
            return {"story": None}
        intent, _ = latest_intent(tracker)
        channel, user_id = person_key(tracker)
        text = str(value)
        message_id = latest_message_id(tracker)
        transcribed = latest_transcribed(tracker)
        clarify = tracker.get_slot("clarify")

        def work(s: Session) -> dict[str, Any]:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                dispatcher.utter_message(response="utter_not_understood")
                return {"story": None}
            if intent == "clarify" and clarify:
                return answer_clarify(s, conversation)
            if service.is_finishing(intent, text) and service.statement_count(s, conversation):
                pending = service.pending_status(s, conversation)
                # status_answer is emptied so the status form asks afresh; an open "A or B?"
                # is dropped (the words stay, untagged) so it is not asked after "add more"
                return {
                    "story": "done",
                    "pending_status": bool(pending),
                    "status_answer": None,
                    "clarify": None,
                }
            if service.is_finishing(intent, text):
                return {"story": None}  # nothing said yet: the question asks for one thing
            if text.startswith("/"):
                return {"story": None}  # a button from earlier, not the person's words
            if not service.has_words(text):
                dispatcher.utter_message(response="utter_not_understood")
                return {"story": None}
            may_ask = tracker.get_slot("last_prompt") != CLARIFY_PROMPT
            heard = service.hear(
                s, conversation, text, message_id, may_ask=may_ask, transcribed=transcribed
            )
            if heard.shortened:
                dispatcher.utter_message(response="utter_long_message_kept")
            self.log_turn(
                "story_heard",
                reference=conversation.reference,
                outcomes=len(heard.found),
                unsure=bool(heard.unsure),
            )
            if heard.unsure:  # ``ask`` offers the two likeliest, plus "something else"
                first, second = heard.unsure
                return {
                    "story": None,
                    "clarify": {
                        "statement_id": heard.statement_id,
                        "options": {first.outcome_id: first.quote, second.outcome_id: second.quote},
                    },
                }
            short_dont_know = intent == "dont_know" and len(text.split()) <= SHORT_ANSWER_WORDS
            if not short_dont_know:
                reply = service.reflection(text, heard.found)
                dispatcher.utter_message(response=reply.response, **reply.values)
            pending = service.pending_status(s, conversation)
            return {"story": None, "pending_status": bool(pending), "clarify": None}

        def answer_clarify(s: Session, conversation) -> dict[str, Any]:
            chosen = next(tracker.get_latest_entity_values("outcome"), None)
            options = clarify.get("options", {})
            if chosen in options:
                quote = options[chosen]
                service.tag_choice(s, conversation, clarify["statement_id"], chosen, quote)
                dispatcher.utter_message(response="utter_clarified", phrase=phrase(chosen))
            else:
                dispatcher.utter_message(response="utter_clarify_none")
            pending = service.pending_status(s, conversation)
            return {"story": None, "pending_status": bool(pending), "clarify": None}

        return with_storage(dispatcher, work, failed={"story": None})

    def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, answered: bool
    ) -> list[EventType]:
        """The next open question: the opening, a follow-up not yet asked, or "anything else?".

        After a side remark or a pause (nothing answered) the same question comes again.
        Slots: ``role``, ``asked_topics``, ``last_prompt``, ``clarify``.
        """
        intent, _ = latest_intent(tracker)
        last_prompt = tracker.get_slot("last_prompt")
        if intent == "add_more":
            dispatcher.utter_message(response="utter_go_ahead")
            return [SlotSet("last_prompt", "utter_go_ahead")]
        if intent == "dont_know":
            dispatcher.utter_message(response="utter_examples")
            return []
        clarify = tracker.get_slot("clarify")
        if clarify:
            ask_clarify(dispatcher, clarify)
            return [SlotSet("last_prompt", CLARIFY_PROMPT)]
        if last_prompt and not answered:
            dispatcher.utter_message(response=current_prompt(last_prompt))
            return []
        channel, user_id = person_key(tracker)

        def progress(s: Session) -> tuple[int, list[str]]:
            conversation = service.conversation_for(s, channel, user_id)
            if conversation is None:
                return 0, []
            return service.statement_count(s, conversation), repo.outcomes_heard(s, conversation)

        said, heard = with_storage(dispatcher, progress, failed=(0, []))
        if not said:
            prompt = "utter_need_one_thing" if intent in ("done", "deny") else OPENING
            dispatcher.utter_message(response=prompt)
            return [SlotSet("last_prompt", OPENING)]
        asked = list(tracker.get_slot("asked_topics") or [])
        topic = next_topic(tracker.get_slot("role"), set(heard), asked)
        if topic is None:
            dispatcher.utter_message(response=ANYTHING_ELSE)
            return [SlotSet("last_prompt", ANYTHING_ELSE)]
        dispatcher.utter_message(response=topic.response)
        return [
            SlotSet("asked_topics", [*asked, topic.name]),
            SlotSet("last_prompt", topic.response),
        ]


CLARIFY_PROMPT = "utter_ask_clarify"


def ask_clarify(dispatcher: CollectingDispatcher, clarify: dict[str, Any]) -> None:
    """'Is that more about A or B?', with a button for each and one for something else."""
    (first, quote), (second, _) = list(clarify["options"].items())[:2]
    buttons = [
        {"title": phrase(o).capitalize(), "payload": f'/clarify{{"outcome": "{o}"}}'}
        for o in (first, second)
    ]
    buttons.append({"title": "Something else", "payload": '/clarify{"outcome": "none"}'})
    dispatcher.utter_message(
        response=CLARIFY_PROMPT,
        quote=short_quote(quote, 20).rstrip(" .?"),
        first=phrase(first),
        second=phrase(second),
        buttons=buttons,
    )


class ActionAddMore(NamedAction):
    """Reopens the conversation after the summary, keeping anything the person just said.

    Slots: ``story``.
    """

    def name(self) -> str:
        return "action_add_more"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent, _ = latest_intent(tracker)
        if intent != "add_more":
            ValidateStoryForm().validate_story(latest_text(tracker), dispatcher, tracker, domain)
        return [SlotSet("story", None)]
