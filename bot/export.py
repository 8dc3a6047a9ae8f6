"""Everything stored, as JSON, CSV or FHIR R4 on standard output: ``python -m bot export``.

People's words are written exactly as they were stored. CSV has one row per
statement-outcome pair (a statement with no outcome has one row with the outcome columns
empty). Channel user ids are not exported; ``id`` is our own person number.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from dataclasses import astuple, fields
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from bot.outcomes.framework import OUTCOME_IDS, ROLES, group_of
from bot.storage import migrate
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import (
    OUTCOME_STATUSES,
    Conversation,
    OutcomeStatus,
    OutcomeTag,
    Person,
    Statement,
    utcnow,
)
from bot.storage.repository import ExportRow, StatementFilter, export_rows, statement_conditions

FORMATS = ("json", "csv", "fhir")
CSV_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ExportRow))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def matching_statement_ids(s: Session, filters: StatementFilter) -> set[int]:
    """Ids of the statements with at least one row matching ``filters``."""
    query = (
        select(Statement.id)
        .join(Conversation, Statement.conversation_id == Conversation.id)
        .join(Person, Conversation.person_id == Person.id)
    )
    if filters.needs_tag:
        query = query.join(OutcomeTag, OutcomeTag.statement_id == Statement.id).outerjoin(
            OutcomeStatus,
            and_(
                OutcomeStatus.conversation_id == Conversation.id,
                OutcomeStatus.outcome_id == OutcomeTag.outcome_id,
            ),
        )
    return set(s.execute(query.where(*statement_conditions(filters))).scalars())


def export_data(s: Session, filters: StatementFilter | None = None) -> dict[str, Any]:
    """Everything stored, nested person > conversation > statement > outcome.

    With ``filters``, only the statements that match (with all their outcomes), their
    conversations and their people; without, everyone (people with no conversation too).
    """
    wanted: set[int] | None = None
    query = select(Person)
    if filters is not None and not filters.is_empty:
        wanted = matching_statement_ids(s, filters)
        query = query.where(
            Person.id.in_(
                select(Conversation.person_id)
                .join(Statement, Statement.conversation_id == Conversation.id)
                .where(Statement.id.in_(wanted))
            )
        )
    people = (
        s.execute(
            query.order_by(Person.id).options(
                selectinload(Person.conversations)
                .selectinload(Conversation.statements)
                .selectinload(Statement.tags),
                selectinload(Person.conversations).selectinload(Conversation.statuses),
            )
        )
        .scalars()
        .all()
    )
    exported = []
    for person in people:
        reviews = review_history(s, person)
        conversations = []
        for c in sorted(person.conversations, key=lambda c: (c.started_at, c.id)):
            statements = [st for st in c.statements if wanted is None or st.id in wanted]
            if wanted is not None and not statements:
                continue
            statuses = {st.outcome_id: st.status for st in c.statuses}
            conversations.append(
                {
                    "reference": c.reference,
                    "status": c.status,
                    "flagged": c.flagged,
                    "started_at": _iso(c.started_at),
                    "saved_at": _iso(c.saved_at),
                    "statements": [
                        {
                            "position": st.position,
                            "text": st.text,
                            "source": st.source,
                            "transcribed": bool(st.transcribed),
                            "created_at": _iso(st.created_at),
                            "outcomes": [
                                {
                                    "id": t.outcome_id,
                                    "group": t.group,
                                    "confidence": t.confidence,
                                    "state": t.state,
                                    "status": statuses.get(t.outcome_id),
                                }
                                for t in st.tags
                            ],
                        }
                        for st in statements
                    ],
                    "reviews": reviews.get(c.id, []),
                }
            )
        exported.append(
            {
                "id": person.id,
                "channel": person.channel,
                "role": person.role,
                "consent_at": _iso(person.consent_at),
                "conversations": conversations,
            }
        )
    return {"exported_at": utcnow().isoformat(), "people": exported}


def review_history(s: Session, person: Person) -> dict[int, list[dict[str, Any]]]:
    """The person's dated review entries, oldest first, by the conversation they review."""
    history: dict[int, list[dict[str, Any]]] = {}
    for entry in repo.review_entries(s, person):
        history.setdefault(entry.conversation_id, []).append(
            {
                "outcome": entry.outcome_id,
                "group": group_of(entry.outcome_id),
                "quote": entry.quote,
                "status": entry.status,
                "helped": entry.helped,
                "not_helped": entry.not_helped,
                "still_matters": entry.still_matters,
                "reviewed_at": _iso(entry.created_at),
            }
        )
    return history


def write_json(s: Session, out: TextIO, filters: StatementFilter | None = None) -> None:
    """Write :func:`export_data` as UTF-8 JSON (non-ASCII characters kept as they are)."""
    json.dump(export_data(s, filters), out, ensure_ascii=False, indent=2)
    out.write("\n")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def write_csv(s: Session, out: TextIO, filters: StatementFilter | None = None) -> None:
    """Write a header and one row per statement-outcome; open ``out`` with ``newline=""``.
    With ``filters``, only the matching rows (see :class:`StatementFilter`)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in export_rows(s, filters):
        writer.writerow([_csv_value(v) for v in astuple(row)])


def write_fhir(s: Session, out: TextIO, filters: StatementFilter | None = None) -> None:
    """Write a FHIR R4 ``collection`` Bundle (see :mod:`bot.fhir`)."""
    from bot.fhir.bundle import write_fhir as write_bundle

    write_bundle(s, out, filters)


WRITERS: dict[str, Callable[..., None]] = {
    "json": write_json,
    "csv": write_csv,
    "fhir": write_fhir,
}


def export(
    out: TextIO,
    fmt: str = "json",
    url: str | None = None,
    filters: StatementFilter | None = None,
) -> None:
    """Bring the schema up to date on ``url`` (default ``DATABASE_URL``) and export it
    (only what matches ``filters``, if given)."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            WRITERS[fmt](s, out, filters)
    finally:
        engine.dispose()


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def filters_from_args(args: argparse.Namespace) -> StatementFilter | None:
    """The :class:`StatementFilter` the command-line options ask for (``None`` for none)."""
    flagged = getattr(args, "flagged", None)
    filters = StatementFilter(
        role=getattr(args, "role", None),
        date_from=getattr(args, "date_from", None),
        date_to=getattr(args, "date_to", None),
        outcome=getattr(args, "outcome", None),
        status=getattr(args, "status", None),
        flagged=None if flagged is None else flagged == "yes",
        text=getattr(args, "search", None),
        person_id=getattr(args, "person", None),
    )
    return None if filters.is_empty else filters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot export``."""
    parser.add_argument("--format", choices=FORMATS, default="json", help="output format")
    parser.add_argument(
        "--url", default=None, help="database URL (default: DATABASE_URL or var/outcomes.db)"
    )
    chosen = parser.add_argument_group("filters (default: everything)")
    chosen.add_argument("--person", type=int, metavar="ID", help="one person (our person id)")
    chosen.add_argument("--role", choices=ROLES, help="conversations held in this role")
    chosen.add_argument(
        "--from", dest="date_from", type=_day, metavar="YYYY-MM-DD", help="statements from"
    )
    chosen.add_argument(
        "--to", dest="date_to", type=_day, metavar="YYYY-MM-DD", help="statements up to (incl.)"
    )
    chosen.add_argument("--outcome", choices=OUTCOME_IDS, metavar="ID", help="this outcome id")
    chosen.add_argument("--status", choices=OUTCOME_STATUSES, help="outcome status")
    chosen.add_argument(
        "--flagged", choices=("yes", "no"), help="conversations flagged (or not) for attention"
    )
    chosen.add_argument("--search", metavar="WORDS", help="words in a statement, or a reference")


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot export``: UTF-8 on standard output; the exit code."""
    from bot.fhir import FhirExportError

    try:
        return _run(args)
    except FhirExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    stdout = sys.stdout
    if not hasattr(stdout, "buffer"):
        export(stdout, args.format, getattr(args, "url", None), filters_from_args(args))
        return 0
    stdout.flush()
    out = io.TextIOWrapper(stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        export(out, args.format, getattr(args, "url", None), filters_from_args(args))
        out.flush()
    finally:
        out.detach()
    return 0
