"""The REST client (real HTTP against a stand-in Rasa) and the terminal chat loop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.channels.rasa_client import BotMessage, Button, RasaClient, RasaUnavailable, RetryPolicy
from bot.channels.terminal import chat, choose, format_reply


class StandInRasa(BaseHTTPRequestHandler):
    """Answers like Rasa's REST channel; fails the first ``failures`` requests with a 503."""

    failures = 0
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        reply = [{"recipient_id": body["sender"], "text": f"heard: {body['message']}",
                  "buttons": [{"title": "Yes", "payload": "/affirm"}]}]  # fmt: skip
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def rasa_url() -> Iterator[str]:
    StandInRasa.failures = 0
    StandInRasa.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def fast_client(url: str, attempts: int = 4) -> RasaClient:
    return RasaClient(
        url, retry=RetryPolicy(attempts=attempts, first_delay=0.01), sleep=lambda _: None
    )


def test_replies_come_back_with_buttons(rasa_url):
    replies = fast_client(rasa_url).send("terminal:jo", "hello \U0001f44b")
    assert replies == [BotMessage("heard: hello \U0001f44b", (Button("Yes", "/affirm"),))]
    assert StandInRasa.received[0]["sender"] == "terminal:jo"


def test_a_busy_rasa_is_retried_with_the_same_message_id(rasa_url):
    StandInRasa.failures = 2
    retries: list[int] = []
    replies = fast_client(rasa_url).send("s", "my words", message_id="m-7", on_retry=retries.append)
    assert replies[0].text == "heard: my words"
    assert retries == [1, 2]
    assert {r["metadata"]["message_id"] for r in StandInRasa.received} == {"m-7"}


def test_rasa_down_raises_after_bounded_retries():
    client = fast_client("http://127.0.0.1:9", attempts=3)
    with pytest.raises(RasaUnavailable):
        client.send("s", "hello")


def test_backoff_doubles_up_to_a_ceiling():
    assert RetryPolicy(attempts=6, first_delay=0.5, max_delay=4).delays() == [0.5, 1, 2, 4, 4]


class ScriptedClient:
    """Stands in for RasaClient in the chat loop: fails while ``down``, records what arrives."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[str] = []

    def send(self, sender, text, *, message_id=None, on_retry=None):
        if self.down:
            raise RasaUnavailable("down")
        self.sent.append(text)
        return [BotMessage("Pick one", (Button("Going well", "/status_going_well"),))]


def test_the_chat_loop_keeps_a_message_rasa_could_not_take():
    client = ScriptedClient()
    out: list[str] = []
    lines = iter(["", "1", "my garden matters", "", "quit"])

    def read(prompt: str) -> str:
        line = next(lines)
        client.down = line == "my garden matters"  # Rasa is down for this one message
        return line

    assert chat(client, "terminal:t", read=read, write=out.append) == 0
    assert client.sent == ["/greet", "/status_going_well", "my garden matters"]
    assert any("Take your time" in o for o in out)
    assert any("Your message is kept" in o for o in out)


def test_numbers_choose_buttons_and_words_pass_through():
    buttons = (Button("Yes", "/affirm"), Button("No", "/deny"))
    assert choose("2", buttons) == "/deny"
    assert choose("3", buttons) == "3"
    assert choose("yes please", buttons) == "yes please"
    shown = format_reply(BotMessage("Is it ok?", buttons))
    assert shown.splitlines() == ["Assistant: Is it ok?", "   1) Yes", "   2) No"]
