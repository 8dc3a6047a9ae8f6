"""The person's own web chat at ``/chat``: the assistant in a browser, accessibility first.

``init_app(app)`` registers the ``chat`` blueprint (which checks access itself, by its
conversation cookie, not by practitioner sign-in) and connects to Rasa at ``CHAT_RASA_URL``
(default ``http://127.0.0.1:5005``). Pages are in :mod:`.views`, voice messages in
:mod:`.voice`, the conversation read back from Rasa in :mod:`.conversation`.
"""

from __future__ import annotations

import os

from flask import Flask

from . import voice  # noqa: F401 - registers the voice routes on the blueprint
from .conversation import ChatRasa
from .views import bp

# Uploads larger than the app's usual 64 KB: a long message, a voice message (WAV).
BODY_LIMITS = {"/chat/send": 1024 * 1024, "/chat/voice": 8 * 1024 * 1024}


def init_app(app: Flask) -> None:
    """Register the web chat on the review app."""
    app.config.setdefault("CHAT_RASA_URL", os.environ.get("CHAT_RASA_URL", "http://127.0.0.1:5005"))
    if "po_chat_rasa" not in app.extensions:
        app.extensions["po_chat_rasa"] = ChatRasa(app.config["CHAT_RASA_URL"])

    class ChatRequest(app.request_class):
        """Allows the chat's larger bodies on its own paths only."""

        @property
        def max_content_length(self) -> int | None:
            return BODY_LIMITS.get(self.path) or super().max_content_length

    app.request_class = ChatRequest
    app.register_blueprint(bp)
