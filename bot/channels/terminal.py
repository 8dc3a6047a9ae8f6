"""``python -m bot chat``: talk to the assistant in this terminal.

Starts the Rasa and action servers (unless ``--url`` points at running ones), then reads
lines from the keyboard. Choices are numbered: type the number or your own words.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

from bot.channels.rasa_client import BotMessage, Button, RasaClient, RasaUnavailable

QUIT_WORDS = {"quit", "exit", ":q"}
DOCUMENTS_DIR = Path(__file__).resolve().parents[2] / "var" / "documents"
WIDTH = 88


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for ``python -m bot chat``."""
    parser.add_argument("--url", help="use the Rasa server already running at this URL")
    parser.add_argument(
        "--id",
        default=os.environ.get("CHAT_ID") or getpass.getuser(),
        help="your conversation id: the same id carries on where you left off",
    )


def run(args: argparse.Namespace) -> int:
    """Start the servers if needed and chat until the person leaves."""
    sender = f"terminal:{args.id}"
    if args.url:
        return chat(RasaClient(args.url), sender)
    from bot.servers import running_servers

    print("Starting the assistant, this takes about half a minute...", flush=True)
    try:
        with running_servers() as servers:
            return chat(RasaClient(servers.rasa_url), sender)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1


def format_reply(message: BotMessage) -> str:
    """A reply as the terminal shows it, with numbered choices."""
    paragraphs = [
        textwrap.fill(p, WIDTH, initial_indent="", subsequent_indent="  ")
        if not p.lstrip().startswith("- ")
        else textwrap.fill(p, WIDTH, subsequent_indent="    ")
        for p in message.text.split("\n")
    ]
    lines = ["Assistant: " + "\n".join(paragraphs).lstrip()]
    lines += [f"   {i}) {b.title}" for i, b in enumerate(message.buttons, start=1)]
    return "\n".join(lines)


def save_document(document: dict, folder: Path = DOCUMENTS_DIR) -> str:
    """Save a document the assistant sent (Markdown and HTML) and say where it is."""
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(document.get("filename") or "document"))
    saved = []
    for kind, suffix in (("markdown", ".md"), ("html", ".html")):
        if document.get(kind):
            path = folder / f"{name}{suffix}"
            path.write_text(document[kind], encoding="utf-8")
            saved.append(str(path))
    return "(Saved for you: " + " and ".join(saved) + ". Open the .html file to print it.)"


def choose(text: str, buttons: tuple[Button, ...]) -> str:
    """The payload of a numbered choice, or the text as typed."""
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return buttons[int(text) - 1].payload
    return text


def chat(
    client: RasaClient,
    sender: str,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    """The conversation loop. A message Rasa could not take is kept and offered again."""

    def deliver(text: str) -> tuple[Button, ...] | None:
        def tell_waiting(attempt: int) -> None:
            if attempt == 1:
                write(
                    "(The assistant is busy or restarting. Your message is kept; trying again...)"
                )

        try:
            replies = client.send(sender, text, message_id=uuid.uuid4().hex, on_retry=tell_waiting)
        except RasaUnavailable:
            write(
                "(The assistant isn't answering just now. Your message is kept: press Enter to "
                "send it again, or type 'quit' to leave.)"
            )
            return None
        for reply in replies:
            if reply.document:
                write(save_document(reply.document))
            elif reply.text or reply.buttons:
                write(format_reply(reply))
        return replies[-1].buttons if replies else ()

    buttons: tuple[Button, ...] = deliver("/greet") or ()
    pending: str | None = None
    while True:
        try:
            line = read("You: ").strip()
        except (EOFError, KeyboardInterrupt):
            line = "quit"
        if line.lower() in QUIT_WORDS:
            write("Goodbye. What you've said so far is kept; run `make run` again to carry on.")
            return 0
        if not line and pending is None:
            write("Take your time. Type a message when you're ready, or 'quit' to leave.")
            continue
        text = pending if not line else choose(line, buttons)
        result = deliver(text)
        pending = text if result is None else None
        if result is not None:
            buttons = result
