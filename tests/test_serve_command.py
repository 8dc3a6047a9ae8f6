"""``python -m bot serve`` stops the servers it started when it is stopped (SIGTERM, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.servers import rasa_env
from tests.ports import free_port


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sigterm_to_serve_stops_rasa_the_action_server_and_the_web_app(tmp_path):
    """(Ctrl-C reaches the whole process group; ``kill``, systemd and docker stop do not.)"""
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    env = rasa_env(
        rasa_port=rasa_port,
        actions_port=actions_port,
        extra={
            "DATABASE_URL": f"sqlite:///{tmp_path}/outcomes.db",
            "TRACKER_DB_URL": f"sqlite:///{tmp_path}/tracker.db",
        },
    )
    command = [sys.executable, "-m", "bot", "serve", "--port", str(rasa_port)]
    command += ["--actions-port", str(actions_port), "--web-port", str(web_port)]
    with open(tmp_path / "serve.log", "w") as log:
        serve = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the servers did not come up"
            try:
                if httpx.get(f"http://127.0.0.1:{web_port}/chat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        children = children_of(serve.pid)
        assert len(children) == 3  # Rasa, the action server, the web app

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) in (0, 130)
        deadline = time.monotonic() + 30
        while any(alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [child for child in children if alive(child)]
    finally:
        if serve.poll() is None:
            serve.kill()
        for child in children_of(serve.pid):
            os.kill(child, signal.SIGKILL)
