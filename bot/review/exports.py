"""Exports with the page's filters applied: CSV (one row per statement-outcome), JSON
(the structure of ``python -m bot export``) and FHIR R4 Bundles (also for one person)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, request

from bot import export
from bot.storage.repository import StatementFilter

from .common import Filters, audit, get_db, login_required, person_for

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


def _fhir(filters: StatementFilter | None, filename: str) -> Response:
    """A FHIR ``collection`` Bundle whose URLs point at this app's FHIR API."""
    from bot.fhir import FhirExportError
    from bot.fhir.bundle import write_fhir
    from bot.fhir.resources import FhirConfig

    out = io.StringIO()
    cfg = FhirConfig.from_settings(base_url=request.url_root.rstrip("/") + "/fhir")
    try:
        write_fhir(get_db(), out, filters, cfg)
    except FhirExportError as exc:
        abort(500, description=f"The FHIR export was refused: {exc}")
    return _download(out.getvalue(), "application/fhir+json; charset=utf-8", filename)


@bp.route("/outcomes.fhir.json")
@login_required
def fhir_export():
    """A FHIR R4 Bundle of the Goals (and their reviews) matching the filters."""
    filters = Filters.from_request()
    audit("export_fhir", filters.query_string())
    return _fhir(filters.statement_filter(row_status=True), "outcomes-fhir.json")


@bp.route("/people/<int:person_id>.fhir.json")
@login_required
def fhir_person(person_id: int):
    """One person's FHIR R4 Bundle (audited as a view of their record)."""
    person_for(person_id, "export_fhir")
    return _fhir(StatementFilter(person_id=person_id), f"person-{person_id}-fhir.json")
