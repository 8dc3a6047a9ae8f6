"""API tokens for the read-only FHIR API: made once, stored as a SHA-256 hash, revocable.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), so a plain SHA-256 is enough
to store it (no salt or slow hash needed: it cannot be guessed from a list).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import ApiToken, utcnow

NAME_MAX = 64


def hash_token(token: str) -> str:
    """The hex SHA-256 of ``token`` (what is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise ValueError(f"a token name is 1 to {NAME_MAX} characters with no spaces")
    return name


def get_token(s: Session, name: str) -> ApiToken | None:
    """The token called ``name`` (revoked or not), if any."""
    return s.execute(select(ApiToken).where(ApiToken.name == name.strip())).scalar_one_or_none()


def create_token(s: Session, name: str) -> tuple[ApiToken, str]:
    """A new token called ``name``; returns the row and the token (shown once, never stored).
    ``ValueError`` if the name is taken (revoked tokens keep their name) or not valid."""
    name = _check_name(name)
    if get_token(s, name) is not None:
        raise ValueError(f"a token called {name!r} already exists")
    token = secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token), created_at=utcnow())
    s.add(row)
    s.flush()
    return row, token


def verify_token(s: Session, token: str | None) -> ApiToken | None:
    """The live token row matching ``token`` (and notes its use), or None if unknown or
    revoked."""
    if not token:
        return None
    row = s.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    s.flush()
    return row


def find_by_token(s: Session, token: str) -> ApiToken | None:
    """The row for ``token`` whether or not it is revoked (to name it in the audit log)."""
    return s.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).scalar_one_or_none()


def revoke_token(s: Session, name: str) -> bool:
    """Revoke the token called ``name``; False if there is none or it was already revoked."""
    row = get_token(s, name)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    s.flush()
    return True


def list_tokens(s: Session) -> list[ApiToken]:
    """Every token, by name."""
    return list(s.execute(select(ApiToken).order_by(ApiToken.name)).scalars())
