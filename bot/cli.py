"""Command-line entry points: ``python -m bot <command>``.

Each command lives in its own module; this file only wires up argparse and imports the
module that does the work when the command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

# command name -> (module, one-line help). Each module has ``add_arguments(parser)`` and
# ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": ("bot.outcomes.evaluation", "score outcome extraction on a labelled YAML file"),
    "agreement": (
        "bot.outcomes.agreement",
        "how far independent readers (and the extractor) agree on labelled files",
    ),
    "train-outcomes": (
        "bot.outcomes.training",
        "train the outcome extractor if it is missing or stale",
    ),
    "export": ("bot.export", "write everything stored as JSON, CSV or FHIR to standard output"),
    "migrate": ("bot.storage.migrate", "bring the outcomes database schema up to date"),
    "chat": ("bot.channels.terminal", "chat with the assistant in this terminal"),
    "serve": ("bot.servers", "run Rasa (REST channel, HTTP API) and the action server"),
    "telegram": ("bot.channels.telegram", "serve the assistant on Telegram (TELEGRAM_BOT_TOKEN)"),
    "review": ("bot.review.serve", "serve the practitioner review web app (127.0.0.1:8000)"),
    "practitioner": ("bot.review.cli", "add, list or remove practitioner accounts"),
    "api-token": ("bot.fhir.cli", "add, list or revoke FHIR API tokens"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The top-level parser; only the command named in ``argv`` gets its options."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(module_name=module_name)
        if name in argv:  # only import the module whose options we need
            importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _interrupt)
    module = importlib.import_module(args.module_name)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (``docker stop``, systemd, ``kill``) stops us as Ctrl-C does, so the servers a
    command started are stopped with it instead of being left running."""
    raise KeyboardInterrupt
