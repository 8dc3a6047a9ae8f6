"""What the actions do with the database and the extractor, as plain functions.

Each function takes an open ``Session`` (the caller owns the transaction) and the
person's key, so it can be tested without Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.dialogue.wording import join_phrases, quote_before_full_stop
from bot.outcomes.extractor import FoundOutcome, above_threshold, get_extractor
from bot.outcomes.framework import ids_for_role
from bot.settings import get_settings
from bot.storage import repository as repo
from bot.storage.models import Conversation, Person


@dataclass(frozen=True)
class Reply:
    """A response name from ``domain.yml`` and the values it is filled with."""

    response: str
    values: dict[str, str]


def conversation_for(s: Session, channel: str, user_id: str) -> Conversation | None:
    """The person's conversation in progress (open or paused), if they have consented."""
    person = repo.find_person(s, channel, user_id)
    if person is None or person.consent_at is None:
        return None
    return repo.current_conversation(s, person)


def give_consent(s: Session, channel: str, user_id: str) -> Conversation:
    """Record consent and open a conversation (or carry on with the open one)."""
    person = repo.get_or_create_person(s, channel, user_id)
    repo.record_consent(s, person)
    return repo.current_conversation(s, person) or repo.start_conversation(s, person)


def choose_role(s: Session, channel: str, user_id: str, role: str) -> None:
    """Store the person's role on them and on their conversation in progress."""
    person = repo.get_or_create_person(s, channel, user_id)
    repo.set_role(s, person, role)
    conversation = repo.current_conversation(s, person)
    if conversation is not None:
        conversation.role = role


MAX_STORED_CHARS = 10_000


def storable(text: str, limit: int = MAX_STORED_CHARS) -> tuple[str, bool]:
    """The words as they will be stored, and whether they had to be shortened.

    NUL characters (which databases cannot hold) are removed. Very long messages keep their
    first ``limit`` characters and a marker saying how much was left out, so nothing is
    dropped silently; the person is told.
    """
    text = text.replace("\x00", "")
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]} [... {len(text) - limit} more characters not stored]", True


@dataclass(frozen=True)
class Heard:
    """What was heard in one message: outcomes tagged, or two the assistant is unsure between."""

    found: list[FoundOutcome]
    statement_id: int
    unsure: tuple[FoundOutcome, FoundOutcome] | None = None
    shortened: bool = False


def unsure_pair(
    scores: dict[str, tuple[float, str]], *, floor: float, sure: float, threshold: float
) -> tuple[FoundOutcome, FoundOutcome] | None:
    """The two likeliest outcomes when the likeliest is neither clearly heard nor clearly not
    (its confidence in ``[floor, sure)``); None when the extractor is sure either way, or when
    it hears both (each at ``threshold`` or more): "A or B?" would make the person drop one."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1][0])
    if len(ranked) < 2 or not floor <= ranked[0][1][0] < sure:
        return None
    (a, (ca, qa)), (b, (cb, qb)) = ranked[:2]
    if cb >= threshold:
        return None
    return FoundOutcome(a, ca, qa), FoundOutcome(b, cb, qb)


def hear(
    s: Session,
    conversation: Conversation,
    text: str,
    message_id: str | None,
    *,
    source: str = "story",
    may_ask: bool = False,
    transcribed: bool = False,
) -> Heard:
    """Store the person's words verbatim with the outcomes heard in them.

    With ``may_ask``, when the extractor is unsure nothing is tagged yet and the two likeliest
    outcomes come back in ``unsure``, so the person can say which (``tag_choice``).
    ``transcribed`` marks words heard from a confirmed voice note.
    """
    settings = get_settings()
    text, shortened = storable(text)
    scores = get_extractor().score(text, allowed_ids=ids_for_role(conversation.role))
    unsure = (
        unsure_pair(
            scores,
            floor=settings.outcome_unsure_floor,
            sure=settings.outcome_sure,
            threshold=settings.outcome_threshold,
        )
        if may_ask
        else None
    )
    found = [] if unsure else above_threshold(scores, settings.outcome_threshold)
    statement = repo.add_statement(
        s,
        conversation,
        text,
        source=source,
        message_id=message_id,
        tags=found,
        transcribed=transcribed,
    )
    return Heard(found, statement.id, unsure, shortened)


def tag_choice(
    s: Session, conversation: Conversation, statement_id: int, outcome_id: str, quote: str
) -> None:
    """Tag a statement with the outcome the person chose when asked."""
    repo.tag_statement(s, conversation, statement_id, outcome_id, quote=quote)


def reflection(text: str, found: list[FoundOutcome]) -> Reply:
    """A brief reflection of what was heard, using the person's words."""
    if not found:
        return Reply("utter_reflect_words", {})
    phrases = join_phrases([f.outcome_id for f in found][:3])
    if len(text.split()) > 60:
        return Reply("utter_reflect_long", {"phrases": phrases})
    return Reply(
        "utter_reflect_outcomes",
        {"quote": quote_before_full_stop(found[0].quote), "phrases": phrases},
    )


def pending_status(s: Session, conversation: Conversation) -> list[str]:
    """Outcomes heard in this conversation whose status the person has not given yet."""
    done = {item.outcome_id for item in repo.summary_items(s, conversation) if item.status}
    return [o for o in repo.outcomes_heard(s, conversation) if o not in done]


def person_for(s: Session, channel: str, user_id: str) -> Person | None:
    """The stored person, if any."""
    return repo.find_person(s, channel, user_id)


def statement_count(s: Session, conversation: Conversation) -> int:
    """How many things the person has said in this conversation."""
    return len(conversation.statements)


def has_words(text: str) -> bool:
    """Whether there is anything to store once unstorable characters are removed."""
    return bool(storable(text)[0].strip())


def is_finishing(intent: str | None, text: str) -> bool:
    """ "That's all" or a short "no" to "anything else?"."""
    return intent == "done" or (intent == "deny" and len(text.split()) <= 4)
