"""What every blueprint shares: the database session, the signed-in practitioner, CSRF,
the authorisation helper and reading filters from the query string."""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from bot.outcomes.framework import GROUPS, OUTCOMES, ROLES
from bot.storage import repository as repo
from bot.storage.models import REVIEW_STATUSES, Person, Practitioner
from bot.storage.repository import StatementFilter

from .queries import STATUS_KEYS

CSRF_FIELD = "csrf_token"
ROLE_LABELS = {"person": "Person", "carer": "Unpaid carer", "pa_employer": "PA employer"}


# ------------------------------------------------------------------------------ database


def get_db() -> Session:
    """This request's session (one transaction), opened on first use."""
    if "db" not in g:
        g.db = current_app.extensions["po_sessionmaker"]()
    return g.db


def close_db(exc: BaseException | None = None) -> None:
    """Roll back anything not committed and close the session (request teardown)."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


# ---------------------------------------------------------------------- who is signed in


def load_practitioner() -> None:
    """Load the signed-in practitioner once per request into ``g.practitioner``."""
    g.practitioner = None
    practitioner_id = session.get("practitioner_id")
    if practitioner_id is not None:
        g.practitioner = get_db().get(Practitioner, practitioner_id)
        if g.practitioner is None:  # account removed since sign-in
            session.clear()


def redirect_to_login():
    """To the sign-in page, remembering where they were going (a GET only)."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target if is_safe_next(target) else None))


def login_required(view):
    """Send anyone not signed in to the sign-in page, remembering where they were going."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.get("practitioner") is None:
            return redirect_to_login()
        return view(**kwargs)

    return wrapped


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no ``//`` or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# -------------------------------------------------------------------------------- CSRF


def csrf_token() -> str:
    """The session's CSRF token (made on first use); every POST form carries it."""
    token = session.get(CSRF_FIELD)
    if token is None:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse (400) a POST whose form token does not match the session's."""
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form had expired or was not sent from this site.")


# ------------------------------------------------------------------------ authorisation


def person_for(person_id: int, action: str, detail: str | None = None) -> Person:
    """The person a signed-in practitioner may see, or 404; writes the audit entry
    (who, when, what) and commits it before anything is shown."""
    practitioner = g.get("practitioner")
    if practitioner is None:
        abort(403)
    db = get_db()
    person = db.get(Person, person_id)
    if person is None:
        abort(404)
    repo.record_audit(db, practitioner, action, person_id=person.id, detail=detail)
    db.commit()
    return person


def audit(action: str, detail: str | None = None) -> None:
    """Write an audit entry for something not about one person (exports, lists) and commit."""
    db = get_db()
    repo.record_audit(db, g.get("practitioner"), action, detail=detail)
    db.commit()


# ------------------------------------------------------------------------------ filters


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


@dataclass(frozen=True)
class Filters:
    """The filters in a page's query string; unknown values are ignored."""

    q: str | None = None
    role: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    outcome: str | None = None
    group: str | None = None
    status: str | None = None
    review: str | None = None
    flagged: bool | None = None

    @classmethod
    def from_request(cls) -> Filters:
        args = request.args
        flagged = args.get("flagged")
        return cls(
            q=(args.get("q") or "").strip()[:200] or None,
            role=_choice(args.get("role"), ROLES),
            date_from=_day(args.get("from")),
            date_to=_day(args.get("to")),
            outcome=_choice(args.get("outcome"), OUTCOMES),
            group=_choice(args.get("group"), GROUPS),
            status=_choice(args.get("status"), STATUS_KEYS),
            review=_choice(args.get("review"), REVIEW_STATUSES),
            flagged={"yes": True, "no": False}.get(flagged or ""),
        )

    def statement_filter(self, *, row_status: bool = False) -> StatementFilter:
        """The repository filter; ``status`` only at row level when ``row_status``."""
        return StatementFilter(
            role=self.role,
            date_from=self.date_from,
            date_to=self.date_to,
            outcome=self.outcome,
            group=self.group,
            status=self.status if row_status and self.status != "none" else None,
            flagged=self.flagged,
            text=self.q,
        )

    def args(self, **changes) -> dict[str, str]:
        """Query-string arguments for these filters (with ``changes``; None drops one)."""
        values = {
            "q": self.q,
            "role": self.role,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "outcome": self.outcome,
            "group": self.group,
            "status": self.status,
            "review": self.review,
            "flagged": None if self.flagged is None else ("yes" if self.flagged else "no"),
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None and v != ""}

    def query_string(self, **changes) -> str:
        return urlencode(self.args(**changes))

    @property
    def any(self) -> bool:
        return bool(self.args())
