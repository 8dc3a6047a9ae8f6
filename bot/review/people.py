"""The people list and one person's record: their words, outcomes, notes and reviews."""

from __future__ import annotations

from math import ceil

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from bot.outcomes.framework import OUTCOMES
from bot.storage import repository as repo
from bot.storage.models import REVIEW_STATUSES

from . import queries
from .common import Filters, audit, get_db, login_required, person_for

bp = Blueprint("people", __name__, url_prefix="/people")

NOTE_MAX = 5000


def index_redirect():
    """``/`` is the people list."""
    return redirect(url_for("people.index"))


@bp.route("/")
@login_required
def index():
    """Everyone, latest first, with search and filters; 50 a page."""
    filters = Filters.from_request()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    per_page = current_app.config["PER_PAGE"]
    rows, total = queries.people_page(
        get_db(),
        filters.statement_filter(),
        status=filters.status,
        review=filters.review,
        page=page,
        per_page=per_page,
    )
    if filters.any:
        audit("search_people", filters.query_string())
    return render_template(
        "people/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(ceil(total / per_page), 1),
        filters=filters,
    )


@bp.route("/<int:person_id>")
@login_required
def detail(person_id: int):
    """One person's record (audited)."""
    person_for(person_id, "view_person")
    view = queries.person_view(get_db(), person_id)
    return render_template("people/detail.html", view=view, review_statuses=REVIEW_STATUSES)


@bp.route("/<int:person_id>/print")
@login_required
def printable(person_id: int):
    """A one-page summary to print for a support planning meeting (audited)."""
    person_for(person_id, "print_person")
    view = queries.person_view(get_db(), person_id)
    return render_template("people/print.html", view=view)


@bp.route("/<int:person_id>/notes", methods=("POST",))
@login_required
def add_note(person_id: int):
    """Add a practitioner's note; the person's words are not touched."""
    body = request.form.get("body", "").strip()
    if not body or len(body) > NOTE_MAX:
        flash(f"Write a note of 1 to {NOTE_MAX} characters.", "error")
        return redirect(url_for("people.detail", person_id=person_id, _anchor="notes"))
    person = person_for(person_id, "add_note")
    repo.add_note(get_db(), person, g.practitioner, body)
    get_db().commit()
    flash("Note added.", "success")
    return redirect(url_for("people.detail", person_id=person_id, _anchor="notes"))


@bp.route("/<int:person_id>/reviews", methods=("POST",))
@login_required
def add_review(person_id: int):
    """Record fully / partly / not met for one outcome."""
    outcome_id = request.form.get("outcome_id", "")
    status = request.form.get("status", "")
    if outcome_id not in OUTCOMES or status not in REVIEW_STATUSES:
        abort(400, description="Choose an outcome and a review status.")
    comment = request.form.get("comment", "")[:NOTE_MAX]
    person = person_for(person_id, "add_review", detail=f"{outcome_id}={status}")
    repo.add_review(get_db(), person, g.practitioner, outcome_id, status, comment)
    get_db().commit()
    flash(f"Review saved: {OUTCOMES[outcome_id].label}.", "success")
    return redirect(url_for("people.detail", person_id=person_id, _anchor=f"o-{outcome_id}"))
