"""The action server loads the outcome extractor when it starts, not on the first story."""

from __future__ import annotations

import subprocess
import sys
import time

from actions import started_by_action_server
from bot.servers import rasa_env
from tests.ports import free_port


def test_only_the_action_server_process_warms_up():
    assert started_by_action_server(["/venv/lib/python3.10/site-packages/rasa_sdk/__main__.py"])
    assert not started_by_action_server(["/venv/bin/pytest"])
    assert not started_by_action_server(["-c"])
    assert not started_by_action_server([])


def test_action_server_loads_the_extractor_before_any_request(tmp_path):
    port = free_port()
    log = tmp_path / "actions.log"
    env = rasa_env(actions_port=port, extra={"DATABASE_URL": f"sqlite:///{tmp_path}/o.db"})
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Outcome extractor loaded" not in log.read_text():
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the extractor was not loaded at start-up"
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(30)
