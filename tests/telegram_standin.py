"""A stand-in for the Telegram Bot API on 127.0.0.1, for the real python-telegram-bot to talk to.

It serves the methods our bot uses, feeds scripted updates through long-polled
``getUpdates``, records every call (with the time it arrived) and can be told to fail the next
call of a method (flood control, a blocked chat). Voice notes are served like Telegram does:
``getFile`` gives a ``file_path`` and the audio is downloaded from ``/file/bot<token>/<path>``
(recorded as a ``download`` call).
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

TOKEN = "123456:TEST-token-for-the-stand-in"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Talking Points", "username": "tp_bot"}
STRING_PARAMS = {"text", "parse_mode", "action", "callback_query_id", "url", "secret_token"}


@dataclass
class Call:
    """One Bot API request as it arrived."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    failed: bool = False  # answered with an injected error


def multipart_params(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data request; a file is {"filename", "content"}."""
    message = BytesParser(policy=email_default).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename:
            params[name] = {"filename": filename, "content": payload.decode("utf-8")}
        else:
            value: Any = payload.decode("utf-8")
            if name not in STRING_PARAMS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            params[name] = value
    return params


class BotApiStandIn:
    """The Bot API on a free port; ``base_url`` is what PTB's ``base_url`` should be."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.delivered_at: dict[int, float] = {}  # update_id -> when getUpdates handed it over
        self.sent: dict[int, dict] = {}  # message_id -> message as the bot sent it
        # (method, chat_id, status, body): answer that chat's next such call with an error
        self.failures: list[tuple[str, int, int, dict]] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, for getFile and downloads
        self._updates: list[dict] = []
        self._next_update = 1000
        self._next_message = 1
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> BotApiStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # --- scripting updates -------------------------------------------------------------------

    def _push(self, kind: str, payload: dict) -> int:
        with self._cond:
            update_id = self._next_update
            self._next_update += 1
            self._updates.append({"update_id": update_id, kind: payload})
            self._cond.notify_all()
        return update_id

    def _message(self, chat_id: int, **content: Any) -> dict:
        with self._cond:
            message_id = self._next_message
            self._next_message += 1
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            **content,
        }

    def send_text(self, chat_id: int, text: str) -> int:
        """The person types ``text``; a leading ``/word`` is a bot command, as in Telegram."""
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/\w+", text)
        if command:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._push("message", self._message(chat_id, **content))

    def send_media(self, chat_id: int, kind: str) -> int:
        """The person sends a photo, sticker, voice message or document."""
        file = {"file_id": f"f-{kind}", "file_unique_id": f"u-{kind}"}
        content = {
            "photo": {"photo": [{**file, "width": 10, "height": 10}]},
            "sticker": {
                "sticker": {
                    **file,
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "voice": {"voice": {**file, "duration": 3}},
            "document": {"document": file},
        }[kind]
        return self._push("message", self._message(chat_id, **content))

    def send_voice(self, chat_id: int, audio: bytes, duration: int) -> tuple[int, int]:
        """The person sends a voice note of ``duration`` seconds (as Telegram states it).
        Returns (update id, message id)."""
        with self._cond:
            file_id = f"voice-{len(self.files) + 1}"
            self.files[file_id] = audio
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(audio),
        }
        message = self._message(chat_id, voice=voice)
        return self._push("message", message), message["message_id"]

    def edit_text(self, chat_id: int, text: str) -> int:
        """The person edits an earlier message to read ``text``."""
        message = self._message(chat_id, text=text, edit_date=int(time.time()))
        return self._push("edited_message", message)

    def press(self, chat_id: int, title: str) -> int:
        """The person presses the button titled ``title`` on the latest message that has it."""
        for message in reversed(list(self.sent.values())):
            if message["chat"]["id"] != chat_id or "reply_markup" not in message:
                continue
            for row in message["reply_markup"]["inline_keyboard"]:
                for button in row:
                    if button["text"] == title:
                        return self._callback(chat_id, button["callback_data"], message)
        raise AssertionError(f"no button {title!r} in chat {chat_id}: {self.buttons(chat_id)}")

    def press_again(self, chat_id: int, data: str) -> int:
        """A press carrying ``data`` on the chat's latest message, e.g. a button already used
        (a double tap, or an update Telegram delivers twice)."""
        message = next(m for m in reversed(list(self.sent.values())) if m["chat"]["id"] == chat_id)
        return self._callback(chat_id, data, message)

    def _callback(self, chat_id: int, data: str, message: dict) -> int:
        query = {
            "id": f"q{self._next_update}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": message,
        }
        return self._push("callback_query", query)

    # --- reading what the bot did ------------------------------------------------------------

    def of(
        self, method: str, chat_id: int | None = None, since: float = 0.0, failed: bool = False
    ) -> list[Call]:
        """Calls of ``method`` (to ``chat_id``) since ``since``; ``failed``: the refused ones."""
        with self._cond:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method == method
            and c.failed == failed
            and c.at >= since
            and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int, since: float = 0.0) -> list[str]:
        return [c.params["text"] for c in self.of("sendMessage", chat_id, since)]

    #: Texts the bot's own notices use, left out when waiting for the assistant's reply.
    ignored: tuple[str, ...] = ()

    def buttons(self, chat_id: int) -> list[str]:
        """Titles of the buttons on the latest message of the chat that has any."""
        for message in reversed(list(self.sent.values())):
            if message["chat"]["id"] == chat_id and "reply_markup" in message:
                return [
                    b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row
                ]
        return []

    def wait_for(self, condition, timeout: float = 60.0, what: str = "condition") -> Any:
        """Poll ``condition()`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_for_reply(self, chat_id: int, since: float, contains: str = "", timeout=60.0) -> str:
        """All text the bot sent to the chat since ``since``, once a message has ``contains``
        and the bot has been quiet for a moment (the replies to one message come together)."""

        def done() -> str | None:
            texts = [t for t in self.texts(chat_id, since) if t not in self.ignored]
            if not texts or contains not in "\n".join(texts):
                return None
            if time.monotonic() - self.of("sendMessage", chat_id, since)[-1].at < 0.3:
                return None
            return "\n".join(texts)

        try:
            return self.wait_for(done, timeout, f"a reply containing {contains!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}; got {self.texts(chat_id, since)}") from None

    # --- the HTTP side -----------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        with self._cond:
            call = Call(method, params)
            self.calls.append(call)
            for i, (failing, chat_id, status, body) in enumerate(self.failures):
                if failing == method and params.get("chat_id") == chat_id:
                    del self.failures[i]
                    call.failed = True
                    return status, body
        if method == "getMe":
            return 200, {"ok": True, "result": {**BOT_USER, "can_join_groups": False}}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in ("sendMessage", "editMessageText"):
            return 200, {"ok": True, "result": self._sent_message(method, params)}
        if method == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                return 400, {"ok": False, "error_code": 400, "description": "file not found"}
            return 200, {
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "file_size": len(self.files[file_id]),
                    "file_path": f"voice/{file_id}.oga",
                },
            }
        if method == "sendDocument":
            message = self._message(int(params["chat_id"]), text="")
            message.pop("text", None)
            message["from"] = BOT_USER
            message["document"] = {
                "file_id": f"doc-{message['message_id']}",
                "file_unique_id": f"u-{message['message_id']}",
                "file_name": params["document"]["filename"],
            }
            return 200, {"ok": True, "result": message}
        return 200, {"ok": True, "result": True}

    def _get_updates(self, params: dict[str, Any]) -> list[dict]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 5.0)
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            now = time.monotonic()
            for update in self._updates:
                self.delivered_at.setdefault(update["update_id"], now)
            return list(self._updates)

    def _sent_message(self, method: str, params: dict[str, Any]) -> dict:
        chat_id = int(params["chat_id"])
        plain = html.unescape(re.sub(r"<[^>]+>", "", params["text"]))
        if method == "editMessageText":
            message = dict(self.sent[int(params["message_id"])], text=plain)
            message.pop("reply_markup", None)
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
        else:
            message = self._message(chat_id, text=plain)
            message["from"] = BOT_USER
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
        self.sent[message["message_id"]] = message
        return message

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                match = re.fullmatch(r"/bot([^/]+)/(\w+)", self.path)
                if not match or match.group(1) != TOKEN:
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type") or ""
                if ctype.startswith("multipart/form-data"):  # a file upload (sendDocument)
                    params = multipart_params(ctype, body)
                    status, answer = standin._answer(match.group(2), params)
                    self._reply(status, answer)
                    return
                raw = body.decode()
                params: dict[str, Any] = {}
                for key, values in parse_qs(raw, keep_blank_values=True).items():
                    value = values[0]
                    if key not in STRING_PARAMS:
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    params[key] = value
                status, body = standin._answer(match.group(2), params)
                self._reply(status, body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = unquote(self.path)  # the token's ":" arrives as %3A
                match = re.fullmatch(r"/file/bot([^/]+)/voice/([\w-]+)\.oga", path)
                if not match:
                    self.do_POST()
                    return
                with standin._cond:
                    standin.calls.append(Call("download", {"file_id": match.group(2)}))
                content = standin.files.get(match.group(2))
                if match.group(1) != TOKEN or content is None:
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/ogg")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler
