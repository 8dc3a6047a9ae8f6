"""The tracker store forgets a person's messages when they delete their data."""

from __future__ import annotations

import asyncio

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import ForgetfulSQLTrackerStore
from tests.rasa_helpers import DOMAIN_FILE


def store(tmp_path) -> ForgetfulSQLTrackerStore:
    domain = Domain.load(str(DOMAIN_FILE))
    return ForgetfulSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))


def words(tracker: DialogueStateTracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_deleting_data_removes_the_persons_words_from_the_tracker_store(tmp_path):
    s = store(tmp_path)
    tracker = DialogueStateTracker.from_events(
        "telegram:1",
        [
            ActionExecuted("action_listen"),
            UserUttered("My neighbour hits me sometimes", {"name": "tell"}),
            SlotSet("stage", "talking"),
            ActionExecuted("action_listen"),
        ],
    )
    asyncio.run(s.save(tracker))
    assert words(asyncio.run(s.retrieve("telegram:1"))) == ["My neighbour hits me sometimes"]

    loaded = asyncio.run(s.retrieve("telegram:1"))
    for event in [
        UserUttered("yes delete it", {"name": "affirm"}),
        ActionExecuted("action_delete_my_data"),
        BotUttered("Done. I've deleted everything stored about you."),
        ActionExecuted("action_listen"),
    ]:
        loaded.update(event)
    asyncio.run(s.save(loaded))

    after = asyncio.run(s.retrieve("telegram:1"))
    assert words(after) == []
    assert after.events[0] == ActionExecuted("action_delete_my_data")
    assert [e.text for e in after.events if isinstance(e, BotUttered)] == [
        "Done. I've deleted everything stored about you."
    ]

    after.update(UserUttered("hello again", {"name": "greet"}))
    asyncio.run(s.save(after))
    assert words(asyncio.run(s.retrieve("telegram:1"))) == ["hello again"]


def test_other_people_are_untouched(tmp_path):
    s = store(tmp_path)
    for sender in ("a", "b"):
        tracker = DialogueStateTracker.from_events(sender, [UserUttered(f"words of {sender}")])
        asyncio.run(s.save(tracker))
    forgetting = asyncio.run(s.retrieve("a"))
    forgetting.update(ActionExecuted("action_delete_my_data"))
    asyncio.run(s.save(forgetting))
    assert words(asyncio.run(s.retrieve("a"))) == []
    assert words(asyncio.run(s.retrieve("b"))) == ["words of b"]
    assert isinstance(s, SQLTrackerStore)
