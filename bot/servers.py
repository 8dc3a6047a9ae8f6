"""Starting the Rasa server and the action server as child processes, and stopping them.

Used by ``make serve``/``make run`` (through ``python -m bot serve`` and ``chat``) and by the
end-to-end tests, so every way of running the assistant starts it the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT, VAR_DIR, get_settings

logger = logging.getLogger(__name__)

MODELS_DIR = PROJECT_ROOT / "models"


def rasa_env(
    *, rasa_port: int = 5005, actions_port: int = 5055, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment both servers run with: defaults for everything ``endpoints.yml`` reads."""
    env = dict(os.environ)
    env.update(extra or {})
    database_url = env.get("DATABASE_URL") or get_settings().database_url
    env.setdefault("DATABASE_URL", database_url)
    if not env.get("TRACKER_DB_URL"):
        env["TRACKER_DB_URL"] = (
            f"sqlite:///{VAR_DIR / 'tracker.db'}"
            if database_url.startswith("sqlite")
            else database_url
        )
    env.setdefault("TRACKER_DIALECT", env["TRACKER_DB_URL"].split(":", 1)[0].split("+")[0])
    env.setdefault("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{actions_port}/webhook")
    # Rasa's SQL tracker store would otherwise open up to 50+100 connections per process.
    env.setdefault("SQL_POOL_SIZE", "5")
    env.setdefault("SQL_MAX_OVERFLOW", "5")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def latest_model() -> Path:
    """The newest trained Rasa model under ``models/``."""
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError("No trained model in models/: run `make train` first.")
    return models[-1]


@dataclass
class Servers:
    """The running Rasa and action servers."""

    rasa: subprocess.Popen
    actions: subprocess.Popen
    rasa_url: str
    actions_url: str

    def stop(self) -> None:
        """Stop both servers (SIGINT first, as Ctrl-C would)."""
        for process in (self.rasa, self.actions):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (self.rasa, self.actions):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ensure_port_free(port: int) -> None:
    """Fail clearly if something already listens on ``port`` (an assistant left running?)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(
                f"Port {port} is already in use: is the assistant already running (make serve)? "
                f"Stop it, or chat with it using `python -m bot chat --url http://127.0.0.1:{port}`."
            )


def wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``url`` until it answers, or raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def start_actions(env: dict[str, str], port: int, log: Path | None) -> subprocess.Popen:
    """Start the rasa_sdk action server on 127.0.0.1:``port``."""
    return _spawn(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)], env, log
    )


def start_rasa(
    env: dict[str, str],
    port: int,
    model: Path,
    log: Path | None,
    endpoints: Path | None = None,
) -> subprocess.Popen:
    """Start Rasa with its REST channel and HTTP API on 127.0.0.1:``port``.

    ``endpoints`` chooses another endpoints file (e.g. ``deploy/endpoints.scale.yml``);
    the default is the project's ``endpoints.yml``.
    """
    command = [
        sys.executable, "-m", "rasa", "run", "--enable-api",
        "--interface", "127.0.0.1", "--port", str(port),
        "--model", str(model),
        "--endpoints", str(endpoints or PROJECT_ROOT / "endpoints.yml"),
        "--credentials", str(PROJECT_ROOT / "credentials.yml"),
    ]  # fmt: skip
    return _spawn(command, env, log)


def _spawn(command: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    output = open(log, "ab") if log else None  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if log else None
    )


@contextmanager
def running_servers(
    *,
    rasa_port: int = 5005,
    actions_port: int = 5055,
    env: dict[str, str] | None = None,
    log_dir: Path | None = VAR_DIR / "logs",
    timeout: float = 120,
    endpoints: Path | None = None,
) -> Iterator[Servers]:
    """Start both servers, wait until Rasa has loaded its model, stop them on exit.

    ``endpoints``: another endpoints file for Rasa (default: the project's ``endpoints.yml``).
    """
    env = env or rasa_env(rasa_port=rasa_port, actions_port=actions_port)
    ensure_port_free(rasa_port)
    ensure_port_free(actions_port)
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    actions = start_actions(env, actions_port, log_dir / "actions.log" if log_dir else None)
    rasa = start_rasa(
        env, rasa_port, latest_model(), log_dir / "rasa.log" if log_dir else None, endpoints
    )
    servers = Servers(
        rasa, actions, f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}"
    )
    try:
        wait_until_up(f"{servers.actions_url}/health", actions, timeout)
        wait_until_up(f"{servers.rasa_url}/status", rasa, timeout)
        yield servers
    finally:
        servers.stop()


def add_arguments(parser) -> None:
    """Options for ``python -m bot serve``."""
    parser.add_argument("--port", type=int, default=5005, help="Rasa's port (default 5005)")
    parser.add_argument("--actions-port", type=int, default=5055, help="action server's port")
    parser.add_argument(
        "--web-port",
        type=int,
        default=int(os.environ.get("REVIEW_PORT", "8000")),
        help="the web app (the person's chat at /chat, the review app) on this port; 0: none",
    )


def start_web(port: int, rasa_url: str) -> subprocess.Popen:
    """The web app (``python -m bot review``) talking to Rasa at ``rasa_url``: the person's
    chat at ``/chat`` and the practitioner review app. Without ``REVIEW_SECRET_KEY`` it runs
    in development mode (a key per process, cookies over plain http)."""
    ensure_port_free(port)
    env = dict(os.environ, CHAT_RASA_URL=rasa_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bot", "review", "--port", str(port)]
    if not env.get("REVIEW_SECRET_KEY"):
        command.append("--dev")
    return _spawn(command, env, None)


def run(args) -> int:
    """Serve Rasa (REST channel and HTTP API), the action server and the web app until Ctrl-C."""
    with running_servers(
        rasa_port=args.port, actions_port=args.actions_port, log_dir=None, timeout=180
    ) as servers:
        web = start_web(args.web_port, servers.rasa_url) if args.web_port else None
        processes = [servers.rasa, servers.actions] + ([web] if web else [])
        print(f"Rasa REST channel: {servers.rasa_url}{'/webhooks/rest/webhook'}", flush=True)
        if web:
            print(f"Web chat: http://127.0.0.1:{args.web_port}/chat", flush=True)
        print(f"Action server: {servers.actions_url}. Press Ctrl-C to stop.", flush=True)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if web and web.poll() is None:
                web.send_signal(signal.SIGINT)
                try:
                    web.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    web.kill()
    return 0
