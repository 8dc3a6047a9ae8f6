"""Everything stored, as JSON or CSV on standard output: ``python -m bot export``.

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
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Conversation, Person, Statement, utcnow
from bot.storage.repository import ExportRow, export_rows

FORMATS = ("json", "csv")
CSV_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ExportRow))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_data(s: Session) -> dict[str, Any]:
    """Everything stored, nested person > conversation > statement > outcome."""
    people = (
        s.execute(
            select(Person)
            .order_by(Person.id)
            .options(
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
        conversations = []
        for c in sorted(person.conversations, key=lambda c: (c.started_at, c.id)):
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
                        for st in c.statements
                    ],
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


def write_json(s: Session, out: TextIO) -> None:
    """Write :func:`export_data` as UTF-8 JSON (non-ASCII characters kept as they are)."""
    json.dump(export_data(s), out, ensure_ascii=False, indent=2)
    out.write("\n")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def write_csv(s: Session, out: TextIO) -> None:
    """Write a header and one row per statement-outcome; open ``out`` with ``newline=""``."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in export_rows(s):
        writer.writerow([_csv_value(v) for v in astuple(row)])


WRITERS: dict[str, Callable[[Session, TextIO], None]] = {"json": write_json, "csv": write_csv}


def export(out: TextIO, fmt: str = "json", url: str | None = None) -> None:
    """Bring the schema up to date on ``url`` (default ``DATABASE_URL``) and export it."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            WRITERS[fmt](s, out)
    finally:
        engine.dispose()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot export``."""
    parser.add_argument("--format", choices=FORMATS, default="json", help="output format")
    parser.add_argument(
        "--url", default=None, help="database URL (default: DATABASE_URL or var/outcomes.db)"
    )


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot export``: UTF-8 on standard output; the exit code."""
    stdout = sys.stdout
    if not hasattr(stdout, "buffer"):
        export(stdout, args.format, getattr(args, "url", None))
        return 0
    stdout.flush()
    out = io.TextIOWrapper(stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        export(out, args.format, getattr(args, "url", None))
        out.flush()
    finally:
        out.detach()
    return 0
