"""Practitioner accounts for the review web app: ``python -m bot practitioner add|list|remove``.

``add NAME`` asks for the password twice (not echoed); ``--password-stdin`` reads it from
the first line of standard input instead, for scripts. Passwords are stored hashed
(Werkzeug's scrypt); they are never logged or printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from werkzeug.security import generate_password_hash

from bot.storage import migrate
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker

MIN_PASSWORD_LENGTH = 12


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise ValueError("the passwords do not match")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot practitioner``."""
    parser.add_argument(
        "--url", default=None, help="database URL (default: DATABASE_URL or var/outcomes.db)"
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a practitioner (asks for the password twice)")
    add.add_argument("name", help="sign-in name (no spaces)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    sub.add_parser("list", help="list practitioners")
    remove = sub.add_parser("remove", help="remove a practitioner (their audit entries stay)")
    remove.add_argument("name")


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot practitioner``; returns the exit code."""
    url = getattr(args, "url", None)
    try:
        password = _read_password(args.password_stdin) if args.action == "add" else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            if args.action == "add":
                try:
                    repo.add_practitioner(s, args.name, generate_password_hash(password))
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                print(f"Added practitioner {args.name.strip()}.")
            elif args.action == "list":
                for p in repo.list_practitioners(s):
                    last = p.last_sign_in_at.isoformat() if p.last_sign_in_at else "never"
                    print(f"{p.name}\tadded {p.created_at.date().isoformat()}\tlast sign-in {last}")
            elif args.action == "remove":
                if not repo.remove_practitioner(s, args.name):
                    print(f"error: no practitioner called {args.name!r}", file=sys.stderr)
                    return 1
                print(f"Removed practitioner {args.name}.")
    finally:
        engine.dispose()
    return 0
