"""Nothing lost, nothing stored twice, when things fail: the real Rasa and action servers,
then the database read back.

(a) the action server restarts mid-conversation, once between messages and once while a
    message is being handled (the channel resends it with the same message id);
(b) Rasa is killed mid-conversation and started again while a message waits in the channel's
    retry loop; the conversation carries on where it was (SQL tracker store);
(c) the same message is delivered two and three times (a channel retry with the same
    ``message_id``): stored once;
(d) the database is unavailable while a summary is being saved: our database refusing
    connections (longer than the retry, and a short blip the retry absorbs), then PostgreSQL
    itself stopped and started.

One server pair serves every test, with the whole stack on PostgreSQL: a private cluster this
module creates, stops and starts, so other test runs on the shared server are not disturbed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import actions.base as base
from bot.channels.rasa_client import BotMessage, RasaClient, RetryPolicy
from bot.servers import (
    Servers,
    latest_model,
    rasa_env,
    running_servers,
    start_actions,
    start_rasa,
    wait_until_up,
)
from bot.storage.migrate import upgrade
from tests.ports import free_port
from tests.stored import stored

pytestmark = pytest.mark.slow

STORY = [
    "A good day is when my daughter comes round and we have a cup of tea in the garden.",
    "I'd love to get back to the swimming baths, I used to go every Tuesday \U0001f3ca",
    "The carers turn up at different times every day so I never know when I'll get up.",
]
SAVED = "your reference is PO-"
STORAGE_TROUBLE = "I couldn't save that just now"


def texts(replies: list[BotMessage]) -> str:
    return "\n".join(r.text for r in replies)


def payloads(replies: list[BotMessage]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


# ------------------------------------------------------------------- conversation steps


def begin(client: RasaClient, sender: str) -> None:
    """Greeting, consent and role: the assistant asks for the person's story."""
    client.send(sender, "/greet")
    client.send(sender, "/affirm")
    replies = client.send(sender, "/role_person")
    assert "what does a good day look like" in texts(replies)


def answer_clarify(client: RasaClient, sender: str, replies: list[BotMessage]):
    """If the assistant asks "is that more about A or B?", pick the first."""
    choices = [p for p in payloads(replies) if p.startswith("/clarify")]
    return client.send(sender, choices[0]) if choices else replies


def tell(client: RasaClient, sender: str, line: str, message_id: str | None = None) -> None:
    replies = answer_clarify(client, sender, client.send(sender, line, message_id=message_id))
    assert texts(replies).startswith("Thank you"), texts(replies)


def to_summary(client: RasaClient, sender: str) -> None:
    """ "That's all", then skip every status question: the summary is read back."""
    replies = client.send(sender, "that's all")
    for _ in range(12):
        if "/status_going_well" not in payloads(replies):
            break
        replies = client.send(sender, "/skip")
    assert "/confirm_summary" in payloads(replies), texts(replies)


def confirm(client: RasaClient, sender: str, message_id: str | None = None) -> str:
    replies = client.send(sender, "/confirm_summary", message_id=message_id)
    assert SAVED in texts(replies), texts(replies)
    return texts(replies)


# ------------------------------------------------------------------- reading back


def assert_saved_once(db_url: str, sender: str, story: list[str]) -> None:
    result = stored(db_url, sender)
    assert result.statements == story  # each statement once, in order, verbatim
    assert result.summaries == 1
    assert result.statuses == ["saved"]


# ------------------------------------------------------------------- server pair on SQLite


@dataclass
class Stack:
    servers: Servers
    client: RasaClient
    env: dict[str, str]
    db_url: str
    logs: Path
    rasa_port: int
    actions_port: int
    pg: PrivatePostgres | None = None

    def stop_actions(self) -> None:
        self.servers.actions.send_signal(signal.SIGKILL)
        self.servers.actions.wait(timeout=20)

    def start_actions(self) -> None:
        self.servers.actions = start_actions(self.env, self.actions_port, self.logs / "actions.log")
        wait_until_up(f"{self.servers.actions_url}/health", self.servers.actions, 120)

    def kill_rasa(self) -> None:
        self.servers.rasa.send_signal(signal.SIGKILL)
        self.servers.rasa.wait(timeout=20)

    def start_rasa(self) -> None:
        self.servers.rasa = start_rasa(
            self.env, self.rasa_port, latest_model(), self.logs / "rasa.log"
        )


def test_a_action_server_restarts_mid_conversation(stack: Stack):
    client, sender = stack.client, "faults:actions-restart"
    begin(client, sender)
    tell(client, sender, STORY[0])

    stack.stop_actions()  # restarted between two messages
    stack.start_actions()
    tell(client, sender, STORY[1])

    stack.stop_actions()  # down while the next message is handled
    message_id = uuid.uuid4().hex
    replies = client.send(sender, STORY[2], message_id=message_id)
    assert SAVED not in texts(replies) and not texts(replies).startswith("Thank you")
    stack.start_actions()
    tell(client, sender, STORY[2], message_id=message_id)  # the channel resends it

    to_summary(client, sender)
    confirm(client, sender)
    assert_saved_once(stack.db_url, sender, STORY)


def test_b_rasa_restarts_mid_conversation_and_carries_on(stack: Stack):
    client, sender = stack.client, "faults:rasa-restart"
    begin(client, sender)
    tell(client, sender, STORY[0])

    stack.kill_rasa()  # a crash, not a clean stop
    stack.start_rasa()
    # The channel keeps the message and retries it (same message id) until Rasa is back.
    patient = RasaClient(
        stack.servers.rasa_url, retry=RetryPolicy(attempts=120, first_delay=1.0, max_delay=2.0)
    )
    try:
        tell(patient, sender, STORY[1])
    finally:
        patient.close()
    wait_until_up(f"{stack.servers.rasa_url}/status", stack.servers.rasa, 60)
    tell(client, sender, STORY[2])
    to_summary(client, sender)
    confirm(client, sender)
    assert_saved_once(stack.db_url, sender, STORY)


def test_c_a_message_delivered_twice_is_stored_once(stack: Stack):
    client, sender = stack.client, "faults:duplicate"
    begin(client, sender)
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    tell(client, sender, STORY[0], message_id=first)
    client.send(sender, STORY[0], message_id=first)  # the channel's retry
    tell(client, sender, STORY[1], message_id=second)
    client.send(sender, STORY[1], message_id=second)
    client.send(sender, STORY[1], message_id=second)
    to_summary(client, sender)
    confirmation = uuid.uuid4().hex
    confirm(client, sender, message_id=confirmation)
    client.send(sender, "/confirm_summary", message_id=confirmation)
    assert_saved_once(stack.db_url, sender, STORY[:2])


# ------------------------------------------------------------------- PostgreSQL outage

PG_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:``port`` that a test may stop and start."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="po-faults-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:  # PostgreSQL refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(Path(PG_BIN) / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                  "-t", "60", "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        engine = create_engine(
            self.url("postgres"), future=True, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def private_postgres_possible() -> bool:
    if PG_BIN is None:
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """One Rasa + action server pair for every test here, on free ports.

    The whole stack on PostgreSQL: a fresh ``outcomes`` database (our tables) and a fresh
    ``tracker`` database (Rasa's tracker store) in a private cluster, so (d) can make our
    database refuse connections on its own, or stop the whole server. Without PostgreSQL's
    server programs, (a)-(c) run on SQLite and (d) is skipped.
    """
    var = tmp_path_factory.mktemp("faults")
    pg = PrivatePostgres(free_port()) if private_postgres_possible() else None
    try:
        if pg is not None:
            pg.init()
            pg.start()
            pg.admin('CREATE DATABASE "outcomes"', 'CREATE DATABASE "tracker"')
            db_url, tracker_url = pg.url("outcomes"), pg.url("tracker")
        else:
            db_url, tracker_url = f"sqlite:///{var / 'outcomes.db'}", f"sqlite:///{var / 't.db'}"
        upgrade(db_url)
        rasa_port, actions_port = free_port(), free_port()
        env = rasa_env(
            rasa_port=rasa_port,
            actions_port=actions_port,
            extra={"DATABASE_URL": db_url, "TRACKER_DB_URL": tracker_url},
        )
        logs = var / "logs"
        with running_servers(
            rasa_port=rasa_port, actions_port=actions_port, env=env, log_dir=logs, timeout=180
        ) as servers:
            client = RasaClient(servers.rasa_url)
            yield Stack(servers, client, env, db_url, logs, rasa_port, actions_port, pg)
            client.close()
    finally:
        if pg is not None:
            pg.remove()


@pytest.fixture
def pg_stack(stack: Stack) -> tuple[Stack, PrivatePostgres]:
    if stack.pg is None:
        pytest.fail("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    return stack, stack.pg


def test_d_outcomes_database_down_while_saving_is_told_then_saved_once(pg_stack):
    """Our database refuses connections while the summary is saved: after a short bounded
    retry the person is told honestly, nothing is marked saved, and the conversation stays at
    the summary; once the database is back, sending it again saves it once."""
    stack, pg = pg_stack
    client, sender = stack.client, "faults:pg-refuses"
    begin(client, sender)
    tell(client, sender, STORY[0])
    tell(client, sender, STORY[1])
    to_summary(client, sender)

    pg.admin(
        'ALTER DATABASE "outcomes" ALLOW_CONNECTIONS false',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'outcomes'",
    )
    try:
        started = time.monotonic()
        replies = client.send(sender, "/confirm_summary")
        assert STORAGE_TROUBLE in texts(replies) and SAVED not in texts(replies)
        assert time.monotonic() - started >= 3  # it retried before giving up
    finally:
        pg.admin('ALTER DATABASE "outcomes" ALLOW_CONNECTIONS true')

    confirmation = uuid.uuid4().hex
    confirm(client, sender, message_id=confirmation)  # the person sends it again
    client.send(sender, "/confirm_summary", message_id=confirmation)  # and a channel retry
    assert_saved_once(stack.db_url, sender, STORY[:2])


def test_d_a_short_outage_during_the_save_is_absorbed_by_the_retry(pg_stack):
    stack, pg = pg_stack
    client, sender = stack.client, "faults:pg-blips"
    begin(client, sender)
    tell(client, sender, STORY[2])
    to_summary(client, sender)

    pg.admin(
        'ALTER DATABASE "outcomes" ALLOW_CONNECTIONS false',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'outcomes'",
    )
    back = threading.Timer(
        1.0, pg.admin, args=('ALTER DATABASE "outcomes" ALLOW_CONNECTIONS true',)
    )
    back.start()
    try:
        confirm(client, sender)  # saved, without the person noticing the blip
    finally:
        back.join()
    assert_saved_once(stack.db_url, sender, STORY[2:])


def test_d_postgresql_stopped_and_started_whole_stack(pg_stack):
    """PostgreSQL itself stops (Rasa's tracker store too) when the person confirms.

    Rasa's fail-safe tracker store cannot load the conversation and carries on with an empty
    one in memory; our action cannot reach the database either, so after its retries the
    person is told honestly that nothing was saved. Once PostgreSQL is back, Rasa loads the
    real conversation again (still at the summary) and the resend saves it, once.
    """
    stack, pg = pg_stack
    client, sender = stack.client, "faults:pg-stops"
    begin(client, sender)
    tell(client, sender, STORY[0])
    to_summary(client, sender)

    pg.stop()
    try:
        replies = client.send(sender, "/confirm_summary")
        assert STORAGE_TROUBLE in texts(replies) and SAVED not in texts(replies)
        assert stack.servers.rasa.poll() is None and stack.servers.actions.poll() is None
    finally:
        pg.start()

    # The person (or the channel, same message id) sends it again. The first message after the
    # restart may meet a connection PostgreSQL closed; it is told again, and the next works.
    message_id = uuid.uuid4().hex
    for _ in range(4):
        replies = client.send(sender, "/confirm_summary", message_id=message_id)
        if SAVED in texts(replies):
            break
        assert STORAGE_TROUBLE in texts(replies), texts(replies)
        time.sleep(1)
    assert SAVED in texts(replies), texts(replies)
    assert_saved_once(stack.db_url, sender, STORY[:1])


# ------------------------------------------------------------------- with_storage, directly


def test_with_storage_retries_a_dropped_connection_without_repeating_replies(monkeypatch):
    monkeypatch.setattr(base, "STORAGE_RETRY_DELAYS", (0.01, 0.01, 0.01))
    failures = iter([True, True, False])

    @contextlib.contextmanager
    def flaky_scope():
        if next(failures):
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        yield object()

    monkeypatch.setattr(base, "session_scope", flaky_scope)
    dispatcher = CollectingDispatcher()

    def work(session) -> str:
        dispatcher.utter_message(response="utter_saved")
        return "PO-TEST"

    assert base.with_storage(dispatcher, work, failed="") == "PO-TEST"
    assert [m["response"] for m in dispatcher.messages] == ["utter_saved"]


def test_with_storage_gives_up_after_its_retries_and_says_so(monkeypatch):
    monkeypatch.setattr(base, "STORAGE_RETRY_DELAYS", (0.01, 0.01))
    calls = []

    @contextlib.contextmanager
    def down_scope():
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        yield  # pragma: no cover

    monkeypatch.setattr(base, "session_scope", down_scope)
    dispatcher = CollectingDispatcher()
    assert base.with_storage(dispatcher, lambda s: "saved", failed="") == ""
    assert len(calls) == 3
    assert [m["response"] for m in dispatcher.messages] == ["utter_storage_trouble"]
