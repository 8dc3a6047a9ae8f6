"""Page load times on generated data: ``python -m bot.review.bench [--people N] [--statements N]``.

Fills a temporary SQLite database through the repository (people and carers, two
conversations each, statuses, some removed tags), then prints the median time of ten
requests (Flask test client, signed in) of the people list and the overview pages.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from werkzeug.security import generate_password_hash

from bot.outcomes.framework import ids_for_role
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import OUTCOME_STATUSES

WORDS = [
    "I",
    "would",
    "like",
    "to",
    "see",
    "my",
    "friends",
    "more",
    "and",
    "get",
    "out",
    "to",
    "the",
    "shops",
    "on",
    "my",
    "own",
]


def fill(url: str, people: int, statements: int, seed: int = 1) -> None:
    """Generate ``people`` people and about ``statements`` statements through the repository."""
    rng = random.Random(seed)
    engine = make_engine(url)
    per_person = max(statements // people, 1)
    with make_sessionmaker(engine).begin() as s:
        repo.add_practitioner(s, "bench", generate_password_hash("bench password", "pbkdf2"))
        for i in range(people):
            role = rng.choice(("person", "person", "carer", "pa_employer"))
            person = repo.get_or_create_person(s, "bench", str(i))
            repo.set_role(s, person, role)
            ids = ids_for_role(role)
            for c in range(2):
                conversation = repo.start_conversation(s, person)
                heard = set()
                for _ in range(per_person // 2):
                    tags = [(oid, 0.8, None) for oid in rng.sample(ids, rng.choice((0, 1, 1, 2)))]
                    heard.update(t[0] for t in tags)
                    text = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
                    repo.add_statement(s, conversation, text, tags=tags)
                for oid in heard:
                    repo.set_outcome_status(s, conversation, oid, rng.choice(OUTCOME_STATUSES))
                if heard and rng.random() < 0.1:
                    repo.remove_outcome(s, conversation, next(iter(heard)))
                if rng.random() < 0.05:
                    repo.flag_conversation(s, conversation, "distress")
                conversation.started_at -= timedelta(days=rng.randint(0, 365) + 30 * (1 - c))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--statements", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    from bot.review import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.people, args.statements)
        print(f"generated in {time.perf_counter() - started:.1f} s")
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
        client = app.test_client()
        with client.session_transaction() as session:
            session["practitioner_id"] = 1
        for path in (
            "/people/",
            "/people/?role=carer&status=not_yet",
            "/people/?q=shops",
            "/overview/",
            "/overview/top",
            "/overview/statements?outcome=seeing_people&status=going_well",
            "/people/1",
        ):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - t)
                assert response.status_code == 200, (path, response.status_code)
            print(f"{path:65s} median {statistics.median(times) * 1000:7.1f} ms")
        app.extensions["po_engine"].dispose()


if __name__ == "__main__":
    main()
