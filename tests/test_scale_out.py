"""Two Rasa instances share the work: one PostgreSQL database (Rasa's tracker store and our
outcomes tables), a Redis lock store, one action server, all started the way
``deploy/endpoints.scale.yml`` describes. One conversation's messages alternate between the
instances, and 50 conversations run at once across both; the database is read back."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.channels.rasa_client import BotMessage, RasaClient
from bot.servers import (
    latest_model,
    rasa_env,
    running_servers,
    start_rasa,
    wait_until_up,
)
from bot.settings import PROJECT_ROOT
from bot.storage.migrate import upgrade
from tests.ports import free_port
from tests.stored import stored_on_channel

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCALE_ENDPOINTS = PROJECT_ROOT / "deploy" / "endpoints.scale.yml"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
CONCURRENT = 50
STORY = [
    "A good day is when my daughter comes round and we have a cup of tea in the garden.",
    "I'd love to get back to the swimming baths, I used to go every Tuesday \U0001f3ca",
    "The carers turn up at different times every day so I never know when I'll get up.",
]
SAVED = "your reference is PO-"


def texts(replies: list[BotMessage]) -> str:
    return "\n".join(r.text for r in replies)


def payloads(replies: list[BotMessage]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def ensure_redis() -> None:
    """Redis at 127.0.0.1:6379, started (without persistence) if it is down."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2)
    try:
        client.ping()
        return
    except redis.ConnectionError:
        if shutil.which("redis-server") is None:
            pytest.fail("Redis is not running and redis-server is not installed")
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", REDIS_HOST, "--port", str(REDIS_PORT),
         "--save", "", "--appendonly", "no"],
        check=True, capture_output=True,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                pytest.fail("Redis did not come up")
            time.sleep(0.2)


@dataclass
class Cluster:
    a: RasaClient
    b: RasaClient
    db_url: str

    def client(self, turn: int) -> RasaClient:
        return self.a if turn % 2 == 0 else self.b


@pytest.fixture(scope="module")
def cluster(pg_server_url, tmp_path_factory) -> Iterator[Cluster]:
    ensure_redis()
    name = f"scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        pg_server_url, future=True, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db_url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    prefix = f"scale{uuid.uuid4().hex[:10]}"
    rasa_b = None
    try:
        upgrade(db_url)
        var = tmp_path_factory.mktemp("scale")
        logs = var / "logs"
        logs.mkdir()
        port_a, port_b, actions_port = free_port(), free_port(), free_port()
        env = rasa_env(
            rasa_port=port_a,
            actions_port=actions_port,
            extra={
                "DATABASE_URL": db_url,
                "TRACKER_DB_URL": db_url,  # one database: our tables are prefixed po_
                "REDIS_HOST": REDIS_HOST,
                "REDIS_PORT": str(REDIS_PORT),
                "REDIS_DB": "1",
                "REDIS_PASSWORD": "",
                "REDIS_KEY_PREFIX": prefix,
            },
        )
        # Instance B loads its model while running_servers starts the actions and instance A.
        rasa_b = start_rasa(env, port_b, latest_model(), logs / "rasa-b.log", SCALE_ENDPOINTS)
        with running_servers(
            rasa_port=port_a,
            actions_port=actions_port,
            env=env,
            log_dir=logs,
            timeout=240,
            endpoints=SCALE_ENDPOINTS,
        ) as servers:
            wait_until_up(f"http://127.0.0.1:{port_b}/status", rasa_b, 240)
            a, b = RasaClient(servers.rasa_url), RasaClient(f"http://127.0.0.1:{port_b}")
            yield Cluster(a, b, db_url)
            a.close()
            b.close()
    finally:
        if rasa_b is not None and rasa_b.poll() is None:
            rasa_b.terminate()
            try:
                rasa_b.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rasa_b.kill()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def converse(cluster: Cluster, sender: str, story: list[str], first_turn: int = 0) -> str:
    """A whole conversation, each message to the other instance than the one before."""
    turn = first_turn

    def send(message: str) -> list[BotMessage]:
        nonlocal turn
        replies = cluster.client(turn).send(sender, message)
        turn += 1
        return replies

    send("/greet")
    send("/affirm")
    replies = send("/role_person")
    assert "what does a good day look like" in texts(replies), texts(replies)
    for line in story:
        replies = send(line)
        choices = [p for p in payloads(replies) if p.startswith("/clarify")]
        if choices:
            replies = send(choices[0])
        assert texts(replies).startswith("Thank you"), texts(replies)
    replies = send("that's all")
    for _ in range(12):
        if "/status_going_well" not in payloads(replies):
            break
        replies = send("/skip")
    assert "/confirm_summary" in payloads(replies), texts(replies)
    replies = send("/confirm_summary")
    assert SAVED in texts(replies), texts(replies)
    return texts(replies)


def test_one_conversation_alternating_between_two_instances(cluster: Cluster):
    reply = converse(cluster, "alternate:one", STORY)
    people = stored_on_channel(cluster.db_url, "alternate")
    assert people == {"one": (STORY, 1, ["saved"])}
    assert people and "PO-" in reply
    # Both instances wrote the one conversation to the shared tracker store.
    engine = create_engine(cluster.db_url, future=True, poolclass=NullPool)
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM events WHERE sender_id = 'alternate:one'")
        ).scalar_one()
    engine.dispose()
    assert events > 20


def story_for(i: int) -> list[str]:
    return [f"I go to the allotment with my neighbour on Saturdays, plot {i}, and I love it."]


def test_fifty_concurrent_conversations_across_two_instances(cluster: Cluster):
    def run(i: int) -> str:
        return converse(cluster, f"crowd:person-{i}", story_for(i), first_turn=i)

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        replies = list(pool.map(run, range(CONCURRENT)))
    assert len(replies) == CONCURRENT

    people = stored_on_channel(cluster.db_url, "crowd")
    assert sorted(people) == sorted(f"person-{i}" for i in range(CONCURRENT))
    for i in range(CONCURRENT):
        statements, summaries, statuses = people[f"person-{i}"]
        assert statements == story_for(i)  # verbatim, once, in the right conversation
        assert summaries == 1
        assert statuses == ["saved"]
