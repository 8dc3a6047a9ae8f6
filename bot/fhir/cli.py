"""FHIR API tokens: ``python -m bot api-token add NAME | list | revoke NAME``.

``add`` prints the token once; only its SHA-256 hash is stored, so a lost token is revoked
and replaced, never recovered.
"""

from __future__ import annotations

import argparse
import sys

from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker

from . import tokens


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot api-token``."""
    parser.add_argument(
        "--url", default=None, help="database URL (default: DATABASE_URL or var/outcomes.db)"
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="make a token for a case-record system (shown once)")
    add.add_argument("name", help="who the token is for (no spaces), e.g. council-crm")
    sub.add_parser("list", help="list tokens (names and dates, never the tokens)")
    revoke = sub.add_parser("revoke", help="revoke a token: it stops working at once")
    revoke.add_argument("name")


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot api-token``; returns the exit code."""
    url = getattr(args, "url", None)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            if args.action == "add":
                try:
                    row, token = tokens.create_token(s, args.name)
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                print(f"Token for {row.name} (shown once; keep it secret):")
                print(token)
                print("Send it as: Authorization: Bearer <token>", file=sys.stderr)
            elif args.action == "list":
                for row in tokens.list_tokens(s):
                    used = row.last_used_at.isoformat() if row.last_used_at else "never"
                    state = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "live"
                    print(f"{row.name}\tadded {row.created_at.date()}\tlast used {used}\t{state}")
            elif args.action == "revoke":
                if not tokens.revoke_token(s, args.name):
                    print(f"error: no live token called {args.name!r}", file=sys.stderr)
                    return 1
                print(f"Revoked token {args.name.strip()}.")
    finally:
        engine.dispose()
    return 0
