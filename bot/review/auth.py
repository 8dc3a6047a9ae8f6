"""Signing in and out."""

from __future__ import annotations

import functools
import secrets

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from bot.storage import repository as repo

from .common import get_db, is_safe_next, login_required

bp = Blueprint("auth", __name__, url_prefix="/auth")


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name takes as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Ask for a name and password; on success start a fresh session."""
    next_url = request.values.get("next")
    if not is_safe_next(next_url):
        next_url = None
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        db = get_db()
        practitioner = repo.get_practitioner_by_name(db, name) if name else None
        stored = practitioner.password_hash if practitioner is not None else _dummy_hash()
        if check_password_hash(stored, password) and practitioner is not None:
            session.clear()  # no fixation: a new session (and CSRF token) at sign-in
            session["practitioner_id"] = practitioner.id
            session.permanent = True
            repo.record_sign_in(db, practitioner)
            repo.record_audit(db, practitioner, "sign_in")
            db.commit()
            return redirect(next_url or url_for("people.index"))
        repo.record_audit(db, None, "sign_in_failed", name=name[:64] or "-")
        db.commit()
        error = "The name or password is not right. Check them and try again."
    if g.get("practitioner") is not None and request.method == "GET":
        return redirect(next_url or url_for("people.index"))
    status = 401 if error else 200
    return render_template("auth/login.html", error=error, next_url=next_url), status


@bp.route("/logout", methods=("POST",))
@login_required
def logout():
    """Sign out (a POST with the CSRF token, so no other site can sign someone out)."""
    repo.record_audit(get_db(), g.practitioner, "sign_out")
    get_db().commit()
    session.clear()
    return redirect(url_for("auth.login", signed_out=1))
