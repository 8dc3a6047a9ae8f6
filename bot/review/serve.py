"""Serve the review web app: ``python -m bot review [--host 127.0.0.1] [--port 8000]``.

Migrates the database first, then serves with waitress (a production WSGI server) if it is
installed, else Werkzeug's development server (fine bound to 127.0.0.1 for one user).
Put it behind HTTPS (a reverse proxy) anywhere but this machine.
"""

from __future__ import annotations

import argparse
import logging
import os

from bot.storage import migrate

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot review``."""
    parser.add_argument("--host", default=os.environ.get("REVIEW_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("REVIEW_PORT", "8000")))
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development: random secret key for this process, cookies over plain http",
    )


def run(args: argparse.Namespace) -> int:
    """Entry point for ``python -m bot review``; returns the exit code."""
    from bot.review import create_app

    migrate.upgrade()
    config = {"REVIEW_DEV": True, "SESSION_COOKIE_SECURE": False} if args.dev else None
    try:
        app = create_app(config)
    except RuntimeError as exc:
        log.error("%s", exc)
        return 2
    try:
        from waitress import serve
    except ImportError:  # pragma: no cover - waitress is in requirements
        log.warning("waitress is not installed: using Werkzeug's development server")
        app.run(host=args.host, port=args.port, debug=False, use_reloader=False)
        return 0
    log.info("Review app on http://%s:%d/", args.host, args.port)
    serve(app, host=args.host, port=args.port, threads=8, ident="outcomes-review")
    return 0
