"""Text blocks the assistant shows: the summary of outcomes and the record of what is stored.

The headings and phrases are ours; everything in quotation marks is the person's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.dialogue.status import STATUS_WORDS
from bot.dialogue.wording import short_quote
from bot.outcomes.framework import GROUPS, OUTCOMES
from bot.storage.repository import SummaryItem

OPEN_QUOTE, CLOSE_QUOTE = "\u201c", "\u201d"


def quoted(text: str, max_words: int = 40) -> str:
    """The person's words in curly quotes, trimmed if very long."""
    return f"{OPEN_QUOTE}{short_quote(text, max_words)}{CLOSE_QUOTE}"


#: The heading over what the person said with no outcome picked out in it.
OTHER_WORDS_HEADING = "Other things you told me"
#: A letter or digit in any script: a line without one ("🙂", "...") is kept and shown with
#: what is stored, but is not listed as something the person told us.
_HAS_WORD = re.compile(r"[^\W_]")


def render_summary(items: Iterable[SummaryItem], other_words: Iterable[str] = ()) -> str:
    """The summary grouped under plain headings, each outcome with the person's words, then
    the person's other words (``other_words``, no outcome heard in them), so no words of
    theirs are left out; a line of only emoji or punctuation is not listed. Empty when no
    outcome was heard: the other words alone are not a summary to check."""
    lines: list[str] = []
    current_group = None
    for item in items:
        if item.group != current_group:
            # single newlines only: Rasa's REST channel splits a reply at blank lines
            lines.append(GROUPS[item.group].title)
            current_group = item.group
        status = f" ({STATUS_WORDS[item.status]})" if item.status in STATUS_WORDS else ""
        words = "; ".join(quoted(q) for q in item.quotes)
        lines.append(f"- {OUTCOMES[item.outcome_id].phrase.capitalize()}{status}: {words}")
    other = [f"- {quoted(text)}" for text in other_words if _HAS_WORD.search(text)]
    if lines and other:
        lines += [OTHER_WORDS_HEADING, *other]
    return "\n".join(lines)


def render_record(record: dict[str, Any]) -> str:
    """Everything stored about a person, conversation by conversation, in plain text."""
    lines: list[str] = []
    if record.get("consent_at"):
        lines.append(f"You agreed to us keeping your words on {record['consent_at'][:10]}.")
    for conversation in record.get("conversations", []):
        lines.append(
            f"Conversation {conversation['reference']}, started "
            f"{conversation['started_at'][:10]} ({conversation['status']}):"
        )
        for statement in conversation["statements"]:
            heard = [
                OUTCOMES[o["id"]].phrase for o in statement["outcomes"] if o["state"] != "removed"
            ]
            about = f" (about {', '.join(heard)})" if heard else ""
            lines.append(f"- {quoted(statement['text'], 60)}{about}")
        if not conversation["statements"]:
            lines.append("- nothing said yet")
    return "\n".join(lines).strip()
