"""The practitioner review web app: read what one person said, and what matters across people.

``create_app(config=None)`` builds it; ``python -m bot review`` serves it (see
:mod:`bot.review.serve`). Configuration comes from ``config`` or the environment:

- ``REVIEW_SECRET_KEY``: signs session cookies; required unless ``REVIEW_DEV=1`` (or
  ``TESTING``), when a random key is made for this process (and a log line says so);
- ``REVIEW_COOKIE_SECURE``: ``0`` to send the session cookie over plain http (local dev);
- ``DATABASE_URL``: the outcomes database (migrated before the app starts).
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, g, request

from bot.outcomes.framework import GROUPS, OUTCOMES
from bot.settings import get_settings
from bot.storage.db import make_engine, make_sessionmaker

from . import common
from .queries import REVIEW_LABELS, STATUS_LABELS

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = ("static",)
# Blueprints that check access themselves (not by practitioner sign-in): the person's own
# web chat (its conversation cookie) and the FHIR API (API tokens).
OWN_ACCESS_BLUEPRINTS = ("chat", "fhir")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _config_from_env() -> dict[str, Any]:
    return {
        "SECRET_KEY": os.environ.get("REVIEW_SECRET_KEY") or None,
        "REVIEW_DEV": _flag(os.environ.get("REVIEW_DEV"), False),
        "SESSION_COOKIE_SECURE": _flag(os.environ.get("REVIEW_COOKIE_SECURE"), True),
        "DATABASE_URL": get_settings().database_url,
    }


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The review app. Refuses to start without a secret key outside dev/test mode."""
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="po_review_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        MAX_CONTENT_LENGTH=64 * 1024,
        PER_PAGE=50,
    )
    app.config.update(_config_from_env())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        if not (app.config.get("REVIEW_DEV") or app.config.get("TESTING")):
            raise RuntimeError(
                "REVIEW_SECRET_KEY is not set: set it (e.g. python -c 'import secrets; "
                "print(secrets.token_hex(32))') or use dev mode (REVIEW_DEV=1)"
            )
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning(
            "REVIEW_SECRET_KEY is not set: dev/test mode, using a random key for this process "
            "(everyone is signed out when it stops)"
        )
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["po_engine"] = engine
    app.extensions["po_sessionmaker"] = make_sessionmaker(engine)

    app.teardown_appcontext(common.close_db)

    @app.before_request
    def _before():
        common.check_csrf()
        if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in OWN_ACCESS_BLUEPRINTS:
            return None
        common.load_practitioner()
        if g.practitioner is None and request.endpoint != "auth.login":
            # Nothing is visible without signing in (unknown paths included).
            return common.redirect_to_login()
        return None

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.globals.update(
        csrf_token=common.csrf_token,
        CSRF_FIELD=common.CSRF_FIELD,
        OUTCOMES=OUTCOMES,
        GROUPS=GROUPS,
        STATUS_LABELS=STATUS_LABELS,
        REVIEW_LABELS=REVIEW_LABELS,
        ROLE_LABELS=common.ROLE_LABELS,
    )
    app.jinja_env.filters["day"] = lambda d: d.strftime("%d %b %Y") if d else ""
    app.jinja_env.filters["when"] = lambda d: d.strftime("%d %b %Y %H:%M") if d else ""

    from . import auth, chat, exports, overview, people

    app.register_blueprint(auth.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(overview.bp)
    app.register_blueprint(exports.bp)
    from .fhir_api import bp as fhir_bp

    app.register_blueprint(fhir_bp)
    chat.init_app(app)
    app.add_url_rule("/", endpoint="index", view_func=people.index_redirect)

    @app.context_processor
    def _practitioner():
        return {"practitioner": g.get("practitioner")}

    return app
