"""FHIR export time on generated data: ``python -m bot.fhir.bench [--people N] [--statements N]``.

Fills a temporary SQLite database with the review bench's generator
(:func:`bot.review.bench.fill`: people, carers and PA employers, two conversations each,
statuses, some removals), confirms nine conversations in ten, adds one or two dated
reviews to about half the confirmed outcomes, then times ``export(..., "fhir")`` (the work
of ``python -m bot export --format fhir``: load, map, validate every resource, write JSON).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.export import export
from bot.review.bench import fill
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import REVIEW_ENTRY_STATUSES, Conversation, Statement


def confirm_and_review(url: str, seed: int = 2) -> None:
    """Save most generated conversations and add the person's dated reviews."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        for conversation in s.execute(select(Conversation)).scalars().all():
            if rng.random() >= 0.9:
                continue
            repo.save_summary(s, conversation, "summary")
            for outcome_id in repo.outcomes_heard(s, conversation):
                for n in range(rng.choice((0, 0, 1, 2))):
                    entry = repo.add_review_entry(
                        s,
                        conversation,
                        outcome_id,
                        quote=repo.best_quote(s, conversation, outcome_id),
                        status=rng.choice(REVIEW_ENTRY_STATUSES),
                        helped=rng.choice((None, "my PA comes on time")),
                    )
                    entry.created_at = conversation.started_at + timedelta(days=30 * (n + 1))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--statements", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.people, args.statements)
        confirm_and_review(url)
        print(f"generated in {time.perf_counter() - started:.1f} s")
        engine = make_engine(url)
        with make_sessionmaker(engine)() as s:
            statements = s.execute(select(Statement.id)).all()
        engine.dispose()
        out = io.StringIO()
        started = time.perf_counter()
        export(out, "fhir", url)
        elapsed = time.perf_counter() - started
        bundle = json.loads(out.getvalue())
        kinds: dict[str, int] = {}
        for entry in bundle["entry"]:
            kind = entry["resource"]["resourceType"]
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"{args.people} people, {len(statements)} statements")
        print(f"exported {kinds} in {elapsed:.1f} s ({len(out.getvalue()) / 1e6:.1f} MB of JSON)")


if __name__ == "__main__":
    main()
