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


def conversation(sender: str, *lines: str) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen")]
    for line in lines:
        events += [UserUttered(line, {"name": "tell"}), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(sender, events)


def test_the_tracker_saved_here_is_reused_while_the_database_has_not_moved_on(tmp_path):
    s = store(tmp_path)
    tracker = conversation("web:1", "I like my garden")
    asyncio.run(s.save(tracker))
    assert asyncio.run(s.retrieve("web:1")) is tracker  # no read and replay of every event

    # It is exactly what a store without the memory would read back.
    fresh = store(tmp_path)
    assert list(asyncio.run(fresh.retrieve("web:1")).events) == list(tracker.events)


def test_another_instance_answering_in_between_is_read_from_the_database(tmp_path):
    a, b = store(tmp_path), store(tmp_path)
    asyncio.run(a.save(conversation("web:1", "first")))
    on_b = asyncio.run(b.retrieve("web:1"))
    on_b.update(UserUttered("second, via the other instance", {"name": "tell"}))
    asyncio.run(b.save(on_b))

    assert words(asyncio.run(a.retrieve("web:1"))) == ["first", "second, via the other instance"]


def test_a_tracker_changed_but_not_saved_is_not_reused(tmp_path):
    s = store(tmp_path)
    tracker = conversation("web:1", "kept")
    asyncio.run(s.save(tracker))
    tracker.update(UserUttered("never saved (the turn failed)", {"name": "tell"}))

    assert words(asyncio.run(s.retrieve("web:1"))) == ["kept"]


def test_a_new_session_and_a_deletion_are_not_reused(tmp_path):
    from rasa.shared.core.events import SessionStarted

    s = store(tmp_path)
    tracker = conversation("web:1", "old session")
    for event in [ActionExecuted("action_session_start"), SessionStarted()]:
        tracker.update(event)
    tracker.update(UserUttered("new session", {"name": "tell"}))
    asyncio.run(s.save(tracker))
    again = asyncio.run(s.retrieve("web:1"))
    assert again is not tracker and words(again) == ["new session"]

    again.update(ActionExecuted("action_delete_my_data"))
    asyncio.run(s.save(again))
    assert asyncio.run(s.retrieve("web:1")) is not again
    assert words(asyncio.run(s.retrieve("web:1"))) == []


def test_a_turn_on_the_tracker_handed_back_writes_its_new_events_without_counting(tmp_path):
    import sqlalchemy as sa

    s = store(tmp_path)
    asyncio.run(s.save(conversation("web:1", "first")))
    statements: list[str] = []
    sa.event.listen(
        s.engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0])
    )
    for line in ("second", "third"):
        tracker = asyncio.run(s.retrieve("web:1"))
        statements.clear()
        tracker.update(UserUttered(line, {"name": "tell"}))
        tracker.update(ActionExecuted("action_listen"))
        asyncio.run(s.save(tracker))
        assert set(statements) == {"INSERT"}, statements  # no query to count what is stored

    # what it wrote is exactly what a store without the memory reads back, and its record of
    # the database (count, newest id) is right: the next turn reuses the tracker
    fresh = store(tmp_path)
    assert list(asyncio.run(fresh.retrieve("web:1")).events) == list(tracker.events)
    assert asyncio.run(s.retrieve("web:1")) is tracker


def test_turns_on_sqlite_reuse_one_open_connection(tmp_path):
    import sqlalchemy as sa

    s = store(tmp_path)
    opened = []
    sa.event.listen(s.engine, "connect", lambda *_: opened.append(1))
    tracker = conversation("web:1", "I like my garden")
    for _ in range(3):
        asyncio.run(s.save(tracker))
        tracker = asyncio.run(s.retrieve("web:1"))
    assert words(tracker) == ["I like my garden"]
    assert len(opened) == 1
