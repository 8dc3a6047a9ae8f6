"""The web chat over HTTP (Flask's test client) against a stand-in Rasa.

The stand-in is a small HTTP server speaking Rasa's REST channel and tracker API (the same
JSON shapes), so the chat's real client code runs: cookie flags, two people kept apart,
escaping, empty and oversize messages, Rasa down (the text is kept and resent with the same
message id), seeing and deleting data after a confirmation, documents, finish-and-clear, and
the voice message confirmation. The whole conversation with the real Rasa is in
tests/browser/test_chat_browser.py.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import threading
import wave
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from flask import Flask, jsonify
from flask import request as rasa_request
from werkzeug.serving import make_server

from bot.review import create_app
from bot.review.chat import views
from bot.review.chat.identity import COOKIE, sender_for
from bot.storage.migrate import upgrade
from bot.voice import wording
from tests.review_helpers import csrf_from

WORDS = "I like a cup of tea in the garden with my daughter"
SCRIPT = "<script>alert('hi')</script> I like gardening"
HTMX = {"HX-Request": "true"}


# ------------------------------------------------------------------- a stand-in Rasa


@dataclass
class StandInRasa:
    """Rasa's REST webhook and tracker API with a tiny script; ``down`` answers 503."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def reply(self, sender: str, text: str) -> list[dict[str, Any]]:
        if text == "/greet":
            return [
                {
                    "text": "Hello, I'm the Talking Points assistant. Shall we start?",
                    "buttons": [
                        {"title": "Yes, that's fine", "payload": "/affirm"},
                        {"title": "No thanks", "payload": "/deny"},
                    ],
                }
            ]
        if text == "/show_my_data":
            said = [e["text"] for e in self.events[sender] if e["event"] == "user"]
            said = [t for t in said if not t.startswith("/")]
            return [
                {
                    "text": "Here's everything I've stored about you:\nConversation PO-7K3M9Q, "
                    "started today:\nWhat matters in your life\n"
                    + "\n".join(f"- {t}" for t in said)
                }
            ]
        if text == "/delete_my_data":
            return [
                {
                    "text": "Shall I delete it?",
                    "buttons": [
                        {"title": "Yes, delete it", "payload": "/affirm"},
                        {"title": "No, keep it", "payload": "/deny"},
                    ],
                }
            ]
        if text == "/affirm" and any(
            e.get("text") == "Shall I delete it?" for e in self.events[sender][-2:]
        ):
            del self.events[sender][:-1]  # what the forgetful tracker store keeps
            return [{"text": "Done. I've deleted everything stored about you. Take care."}]
        if text == "make my plan":
            document = {"filename": "my-plan", "markdown": "# My plan", "html": "<h1>My plan</h1>"}
            return [{"text": "Here is your plan."}, {"custom": {"document": document}}]
        if len(text) > 10_000:
            return [{"text": "Thank you. It was too long to keep all of it in one go."}]
        return [{"text": f"Thank you. You said: {text}"}]

    def app(self) -> Flask:
        app = Flask("standin-rasa")

        @app.post("/webhooks/rest/webhook")
        def webhook():
            if self.down:
                return "down", 503
            body = rasa_request.get_json()
            self.received.append(body)
            sender, text = body["sender"], body["message"]
            events = self.events.setdefault(sender, [])
            events.append({"event": "user", "text": text, "metadata": body.get("metadata")})
            replies = self.reply(sender, text)
            for item in replies:
                data = {"buttons": item.get("buttons"), "custom": item.get("custom")}
                events.append({"event": "bot", "text": item.get("text"), "data": data})
            return jsonify([{"recipient_id": sender, **item} for item in replies])

        @app.get("/conversations/<sender>/tracker")
        def tracker(sender: str):
            if self.down:
                return "down", 503
            return jsonify({"sender_id": sender, "events": self.events.get(sender, [])})

        return app


@pytest.fixture(scope="module")
def rasa():
    standin = StandInRasa()
    server = make_server("127.0.0.1", 0, standin.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield standin, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def app(rasa, tmp_path):
    standin, url = rasa
    standin.events.clear()
    standin.received.clear()
    standin.down = False
    db_url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(db_url)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SESSION_COOKIE_SECURE": True,
            "CHAT_RASA_URL": url,
        }
    )
    yield app
    app.extensions["po_chat_rasa"].close()
    app.extensions["po_engine"].dispose()


def start(client) -> str:
    """Open the chat and press Start; returns the page's CSRF token."""
    token = csrf_from(client.get("/chat").get_data(as_text=True))
    response = client.post("/chat/start", data={"csrf_token": token})
    assert response.status_code == 303
    return token


def page(client) -> str:
    response = client.get("/chat")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def say(client, token: str, text: str, **extra) -> Any:
    return client.post(
        "/chat/send", data={"csrf_token": token, "message": text, **extra}, headers=HTMX
    )


def sent(standin: StandInRasa) -> list[str]:
    return [body["message"] for body in standin.received]


def choice_values(html: str) -> dict[str, str]:
    """Button title -> signed value of the choices on a page or fragment."""
    found = re.findall(r'name="choice" value="([^"]+)"[^>]*>([^<]+)</button>', html)
    return {unescape(title): unescape(value) for value, title in found}


# ------------------------------------------------------------------------------ tests


def test_the_start_page_sets_a_secure_httponly_samesite_cookie_and_says_hello(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    first = client.get("/chat")
    assert b'role="log"' not in first.data and b"Start the chat" in first.data
    assert not first.headers.getlist("Set-Cookie") or all(
        COOKIE not in c for c in first.headers.getlist("Set-Cookie")
    )
    token = csrf_from(first.get_data(as_text=True))
    response = client.post("/chat/start", data={"csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly"} <= flags
    assert "SameSite=Lax" in cookie and "Path=/chat" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    # Rasa and our database see a one-way hash of the cookie, never the cookie itself.
    assert standin.received[0]["sender"] == sender_for(value)
    assert value not in standin.received[0]["sender"]

    html = page(client)
    assert re.search(r'<div id="log"[^>]*role="log"[^>]*aria-live="polite"', html)
    assert "Hello, I'm the Talking Points assistant" in unescape(html)
    assert set(choice_values(html)) == {"Yes, that's fine", "No thanks"}
    assert '<label class="nhsuk-label" for="message">Your message</label>' in html
    csp = client.get("/chat").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp


def test_scripts_are_allowed_on_the_chat_only_and_practitioner_pages_need_sign_in(app):
    client = app.test_client()
    start(client)
    response = client.get("/people/")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
    assert "script-src" not in client.get("/auth/login").headers["Content-Security-Policy"]


def test_a_typed_message_without_javascript_is_a_post_and_a_page(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    response = client.post("/chat/send", data={"csrf_token": token, "message": f"  {WORDS} "})
    assert response.status_code == 303 and "/chat?sent=1" in response.location
    html = client.get(response.location).get_data(as_text=True)
    assert WORDS in html and f"You said: {WORDS}" in html
    assert re.search(r'<textarea[^>]*id="message"[^>]*autofocus', html)
    assert sent(standin)[-1] == WORDS


def test_with_htmx_only_the_new_messages_and_a_fresh_form_come_back(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    html = say(client, token, WORDS).get_data(as_text=True)
    assert "<html" not in html and 'role="log"' not in html
    assert WORDS in html and f"You said: {WORDS}" in html
    assert 'id="composer-area" class="chat-composer" hx-swap-oob="true"' in html


def test_peoples_words_are_shown_escaped(app):
    client = app.test_client()
    token = start(client)
    fragment = say(client, token, SCRIPT).get_data(as_text=True)
    html = page(client)
    for shown in (fragment, html):
        assert "<script>alert" not in shown
        assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt; I like gardening" in shown


def test_two_cookies_never_see_each_other(app, rasa):
    standin, _ = rasa
    alice, bob = app.test_client(), app.test_client()
    alice_token = start(alice)
    say(alice, alice_token, WORDS)
    bob_token = start(bob)
    assert WORDS in page(alice)
    assert WORDS not in page(bob)
    # No cookie: the start page. A made-up cookie: an empty conversation of its own.
    assert WORDS not in app.test_client().get("/chat").get_data(as_text=True)
    stranger = app.test_client()
    stranger.set_cookie(COOKIE, "x" * 43, path="/chat")
    assert WORDS not in page(stranger)
    # Alice's buttons do not work in Bob's conversation.
    alice_buttons = choice_values(page(alice))
    say(bob, bob_token, "", choice=alice_buttons.get("Yes, that's fine", "missing"))
    assert sent(standin).count("/affirm") == 0


def test_a_choice_is_a_real_button_and_forged_ones_are_refused(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    buttons = choice_values(page(client))
    html = say(client, token, "", choice=buttons["Yes, that's fine"]).get_data(as_text=True)
    assert sent(standin)[-1] == "/affirm"
    assert "Yes, that&#39;s fine" in html  # shown as the person's answer
    before = len(standin.received)
    html = say(client, token, "", choice=buttons["No thanks"][:-3] + "abc").get_data(as_text=True)
    assert "That button has expired" in html and len(standin.received) == before


def test_an_empty_message_gets_a_kind_word_and_is_not_sent(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    before = len(standin.received)
    html = say(client, token, "  \n ").get_data(as_text=True)
    assert views.EMPTY in unescape(html) and len(standin.received) == before
    html = client.post("/chat/send", data={"csrf_token": token, "message": ""}).get_data(
        as_text=True
    )
    assert views.EMPTY in unescape(html)


def test_an_oversize_message_reaches_the_assistant_whole(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    text = "\U0001f3ca" * 20_000  # 80 KB of UTF-8: more than the review app's 64 KB limit
    response = say(client, token, text)
    assert response.status_code == 200
    assert sent(standin)[-1] == text
    assert "too long to keep all of it" in response.get_data(as_text=True)


def test_a_message_starting_with_a_slash_is_words_not_a_command(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    say(client, token, "/delete_my_data")
    assert sent(standin)[-1] == "delete_my_data"


def test_when_rasa_is_down_the_message_is_kept_and_resent_with_the_same_id(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    message_id = "a" * 32
    standin.down = True
    response = client.post(
        "/chat/send", data={"csrf_token": token, "message": WORDS, "message_id": message_id}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "the assistant isn&#39;t answering just now" in html
    assert re.search(rf'<textarea[^>]*id="message"[^>]*>{WORDS}</textarea>', html)
    assert f'name="message_id" value="{message_id}"' in html
    # With htmx: only the notice; the form (and the words in it) stays as it is.
    fragment = say(client, token, WORDS, message_id=message_id).get_data(as_text=True)
    assert "isn&#39;t answering" in fragment and "composer" not in fragment
    standin.down = False
    say(client, token, WORDS, message_id=message_id)
    assert standin.received[-1]["metadata"]["message_id"] == message_id
    assert sent(standin).count(WORDS) == 1


def test_a_person_sees_and_deletes_their_data_after_a_confirmation(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    say(client, token, WORDS)
    html = say(client, token, "", control="show_my_data").get_data(as_text=True)
    assert "See what is stored about me" in html  # the person's side of the log
    assert '<p class="chat-entry__heading">What matters in your life</p>' in html
    assert f"<li>{WORDS}</li>" in html
    html = say(client, token, "", control="delete_my_data").get_data(as_text=True)
    assert WORDS in page(client)  # nothing deleted before the confirmation
    html = say(client, token, "", choice=choice_values(html)["Yes, delete it"]).get_data(
        as_text=True
    )
    assert "I've deleted everything" in unescape(html)
    assert WORDS not in page(client)


def test_a_document_is_a_download_for_its_owner_only(app):
    client = app.test_client()
    token = start(client)
    html = say(client, token, "make my plan").get_data(as_text=True)
    assert 'href="/chat/document/html/my-plan"' in html
    response = client.get("/chat/document/html/my-plan")
    assert response.status_code == 200 and response.data == b"<h1>My plan</h1>"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-plan.html"'
    assert client.get("/chat/document/markdown/my-plan").data == b"# My plan"
    other = app.test_client()
    start(other)
    assert other.get("/chat/document/html/my-plan").status_code == 404
    assert app.test_client().get("/chat/document/html/my-plan").status_code == 404


def test_finish_and_clear_forgets_the_cookie_and_shows_nothing(app):
    client = app.test_client()
    token = start(client)
    say(client, token, WORDS)
    response = client.post("/chat/finish", data={"csrf_token": token})
    assert response.status_code == 303
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith(f"{COOKIE}=;") and "Expires=Thu, 01 Jan 1970" in c for c in cookies)
    finished = client.get(response.location).get_data(as_text=True)
    assert "This screen is clear" in finished and WORDS not in finished
    assert client.get_cookie(COOKIE, path="/chat") is None
    assert "Start the chat" in client.get("/chat").get_data(as_text=True)
    # The old page's form no longer works; a message without the cookie goes to the start.
    assert client.post("/chat/send", data={"csrf_token": token, "message": "hi"}).status_code == 400
    fresh = csrf_from(client.get("/chat").get_data(as_text=True))
    response = client.post("/chat/send", data={"csrf_token": fresh, "message": "hi"})
    assert response.status_code == 303 and response.location == "/chat"


def test_posts_need_the_csrf_token(app, rasa):
    standin, _ = rasa
    client = app.test_client()
    start(client)
    before = len(standin.received)
    assert client.post("/chat/send", data={"message": WORDS}).status_code == 400
    assert len(standin.received) == before


def test_logs_never_hold_what_people_wrote(app, rasa, caplog):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    with caplog.at_level(logging.DEBUG):
        say(client, token, WORDS)
        standin.down = True
        say(client, token, WORDS)
    assert WORDS not in caplog.text


# ------------------------------------------------------------------------------ voice


def spoken(text: str, tmp_path) -> bytes:
    """A WAV voice note of ``text`` (espeak-ng), as the browser would upload it."""
    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng is missing: apt-get install -y espeak-ng")
    path = tmp_path / "note.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(path), text], check=True)
    return path.read_bytes()


def silence(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\0\0" * int(16_000 * seconds))
    return buffer.getvalue()


def upload(client, token: str, audio: bytes) -> str:
    response = client.post(
        "/chat/voice",
        data={"csrf_token": token, "audio": (io.BytesIO(audio), "voice.wav")},
        headers=HTMX,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_voice_message_is_sent_only_once_confirmed_and_marked_transcribed(app, rasa, tmp_path):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    before = len(standin.received)
    html = upload(client, token, spoken("I like walking my dog in the park", tmp_path))
    assert "I heard: \u201c" in html and "is that right?" in html
    assert len(standin.received) == before  # nothing reaches the conversation yet
    heard = re.search(r'name="heard" value="([^"]+)"', html).group(1)
    prompt_id = re.search(r'<form id="(heard-[0-9a-f]+)"', html).group(1)
    words = re.search(r"I heard: \u201c(.*)\u201d", unescape(html)).group(1)
    assert "dog" in words.lower()

    answer = client.post(
        "/chat/voice/confirm",
        data={"csrf_token": token, "heard": unescape(heard), "answer": "yes"},
        headers=HTMX,
    ).get_data(as_text=True)
    body = standin.received[-1]
    assert body["message"] == words and body["metadata"].get("transcribed") is True
    assert f'id="{prompt_id}"' in answer and wording.CONFIRMED in answer
    assert "(spoken, written down by the assistant)" in page(client)


def test_no_ill_type_it_sends_nothing_and_forged_transcripts_are_refused(app, rasa, tmp_path):
    standin, _ = rasa
    client = app.test_client()
    token = start(client)
    html = upload(client, token, spoken("I like walking my dog", tmp_path))
    heard = unescape(re.search(r'name="heard" value="([^"]+)"', html).group(1))
    before = len(standin.received)
    answer = client.post(
        "/chat/voice/confirm",
        data={"csrf_token": token, "heard": heard, "answer": "type"},
        headers=HTMX,
    ).get_data(as_text=True)
    assert wording.TYPE_IT_REPLY in unescape(answer) and len(standin.received) == before
    forged = client.post(
        "/chat/voice/confirm",
        data={"csrf_token": token, "heard": heard[:-4] + "AAAA", "answer": "yes"},
        headers=HTMX,
    ).get_data(as_text=True)
    assert wording.EXPIRED in unescape(forged) and len(standin.received) == before


def test_unreadable_and_too_long_voice_messages_get_kind_answers(app):
    client = app.test_client()
    token = start(client)
    assert wording.UNREADABLE in unescape(upload(client, token, b"not audio at all"))
    assert wording.TOO_LONG in unescape(upload(client, token, silence(125)))
