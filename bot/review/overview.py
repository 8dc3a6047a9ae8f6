"""Across people: what matters across our service, and the words behind every number."""

from __future__ import annotations

from math import ceil

from flask import Blueprint, current_app, render_template, request, url_for

from bot.outcomes.framework import GROUPS
from bot.storage.models import REVIEW_STATUSES

from . import queries
from .charts import Bar, Segment, bar_chart
from .common import Filters, audit, get_db, login_required
from .queries import REVIEW_LABELS, STATUS_KEYS, STATUS_LABELS

bp = Blueprint("overview", __name__, url_prefix="/overview")


def _behind(filters: Filters, **changes) -> str:
    """The link to the statements behind a number."""
    return url_for("overview.statements", **filters.args(**changes))


@bp.route("/")
@login_required
def index():
    """People per group and per outcome, by status, as charts and tables."""
    request_filters = Filters.from_request()
    filters = Filters(
        role=request_filters.role,
        date_from=request_filters.date_from,
        date_to=request_filters.date_to,
    )
    f = filters.statement_filter()
    db = get_db()
    heard = queries.heard(db, f)
    outcome_counts = queries.outcome_counts(db, f, heard)
    group_counts = queries.group_counts(db, f, heard)
    sections = []
    for title, groups in queries.outcome_sets(filters.role):
        group_bars = [
            Bar(
                g.title,
                group_counts[gid].people,
                _behind(filters, group=gid),
            )
            for gid, g in groups.items()
        ]
        outcome_rows = [c for c in outcome_counts.values() if c.group in groups]
        outcome_bars = [
            Bar(
                c.label,
                c.people,
                _behind(filters, outcome=c.outcome_id),
                tuple(
                    Segment(
                        c.by_status[k],
                        k,
                        STATUS_LABELS[k],
                        _behind(filters, outcome=c.outcome_id, status=k),
                    )
                    for k in STATUS_KEYS
                ),
            )
            for c in outcome_rows
        ]
        sections.append(
            {
                "title": title,
                "groups": [(gid, g, group_counts[gid]) for gid, g in groups.items()],
                "group_chart": bar_chart(group_bars, title=f"{title}: people per group"),
                "outcomes": outcome_rows,
                "outcome_chart": bar_chart(
                    outcome_bars, title=f"{title}: people per outcome, by how it is going"
                ),
            }
        )
    return render_template(
        "overview/index.html",
        filters=filters,
        sections=sections,
        status_keys=STATUS_KEYS,
        behind=_behind,
    )


@bp.route("/top")
@login_required
def top():
    """The top things working and not working, by status and by practitioner review."""
    request_filters = Filters.from_request()
    filters = Filters(
        role=request_filters.role,
        date_from=request_filters.date_from,
        date_to=request_filters.date_to,
    )
    counts = queries.outcome_counts(get_db(), filters.statement_filter())
    return render_template(
        "overview/top.html",
        filters=filters,
        top=queries.top_outcomes(counts),
        behind=_behind,
    )


@bp.route("/statements")
@login_required
def statements():
    """The statements behind a number: exactly those it counted, with who said them."""
    filters = Filters.from_request()
    db = get_db()
    ids = queries.statement_ids_behind(
        db, filters.statement_filter(), status=filters.status, review=filters.review
    )
    per_page = current_app.config["PER_PAGE"] * 2
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    rows = queries.statement_rows(
        db, [sid for sid, _ in ids[(page - 1) * per_page : page * per_page]]
    )
    people = len({pid for _, pid in ids})
    audit("view_statements", filters.query_string())
    return render_template(
        "overview/statements.html",
        filters=filters,
        rows=rows,
        total=len(ids),
        people=people,
        page=page,
        pages=max(ceil(len(ids) / per_page), 1),
        groups=GROUPS,
        review_statuses=REVIEW_STATUSES,
        review_labels=REVIEW_LABELS,
    )
