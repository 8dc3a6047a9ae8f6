"""Who is chatting: a random conversation id in a secure, HttpOnly, SameSite cookie.

The cookie holds only a random token. Rasa and our database see ``web:`` and a hash of it,
so nobody who can read stored records (a practitioner, a database dump) can make the cookie
that opens a person's conversation. Values the page hands back (a button's payload, a voice
transcript awaiting confirmation) are signed, so they cannot be forged or moved between
conversations.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "po_chat"
COOKIE_MAX_AGE = 90 * 24 * 3600  # a person on the same device carries on for 90 days
CHANNEL = "web"


def current_token() -> str | None:
    """The conversation token from the request's cookie, if it looks like one of ours."""
    token = request.cookies.get(COOKIE, "")
    return token if 30 <= len(token) <= 64 and token.isascii() else None


def new_token() -> str:
    """A fresh, unguessable conversation token."""
    return secrets.token_urlsafe(32)


def sender_for(token: str) -> str:
    """Rasa's sender id for a conversation token: ``web:`` and a one-way hash of it."""
    return f"{CHANNEL}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def set_cookie(response: Response, token: str) -> None:
    """Give the browser its conversation cookie (Secure unless the app runs on plain http)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/chat",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
        httponly=True,
        samesite="Lax",
    )


def clear_cookie(response: Response) -> None:
    """Make the browser forget its conversation cookie."""
    response.delete_cookie(
        COOKIE,
        path="/chat",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
        httponly=True,
        samesite="Lax",
    )


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"po-chat-{purpose}")


def sign(purpose: str, sender: str, value: Any) -> str:
    """``value`` signed for this conversation and purpose."""
    return _serializer(purpose).dumps([sender, value])


def unsign(purpose: str, sender: str, signed: str) -> Any | None:
    """The value ``sign`` made for this conversation, or None if forged, stale or another's."""
    try:
        owner, value = _serializer(purpose).loads(signed)
    except (BadSignature, ValueError, TypeError):
        return None
    return value if owner == sender else None
