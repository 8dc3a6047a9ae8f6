"""How things are now for one outcome: the person's answer as a status."""

from __future__ import annotations

# intent -> status stored with the outcome
STATUS_BY_INTENT = {
    "status_going_well": "going_well",
    "status_partly": "partly",
    "status_not_yet": "not_yet",
    "skip": "skipped",
}
STATUS_WORDS = {
    "going_well": "going well",
    "partly": "partly",
    "not_yet": "not yet",
    "skipped": "skipped",
}


def status_from_intent(intent: str | None) -> str | None:
    """The status a button press or short answer means, or None if it is not one."""
    return STATUS_BY_INTENT.get(intent or "")
