"""Exports with the page's filters applied: CSV (one row per statement-outcome) and JSON
(the structure of ``python -m bot export``)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, render_template

from bot import export

from .common import Filters, audit, get_db, login_required

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/")
@login_required
def index():
    """Choose filters, then download."""
    return render_template("exports/index.html", filters=Filters.from_request())


@bp.route("/statements.csv")
@login_required
def csv_export():
    """One row per statement-outcome (``python -m bot export --format csv``), filtered."""
    filters = Filters.from_request()
    out = io.StringIO(newline="")
    export.write_csv(get_db(), out, filters.statement_filter(row_status=True))
    audit("export_csv", filters.query_string())
    return _download(out.getvalue(), "text/csv; charset=utf-8", "outcomes.csv")


@bp.route("/outcomes.json")
@login_required
def json_export():
    """The structure of ``python -m bot export`` (JSON), filtered."""
    filters = Filters.from_request()
    out = io.StringIO()
    export.write_json(get_db(), out, filters.statement_filter(row_status=True))
    audit("export_json", filters.query_string())
    return _download(out.getvalue(), "application/json; charset=utf-8", "outcomes.json")
