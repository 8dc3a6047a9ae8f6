"""Custom Rasa actions: thin wrappers that call the plain functions in ``bot``.

When the action server (``python -m rasa_sdk --actions actions``) imports this package, the
outcome extractor is loaded in the background, so the first person after a restart does not
wait for it (it checks its training data, loads the encoder and warms ONNX: ~3 s here).
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    from bot.outcomes.extractor import get_extractor

    try:
        get_extractor().score("A good day is a cup of tea with my daughter.")
        logger.info("Outcome extractor loaded")
    except Exception:  # the first story message will try again, and report it
        logger.exception("Could not load the outcome extractor in the background")


def started_by_action_server(argv: list[str] | None = None) -> bool:
    """True when this process is ``python -m rasa_sdk`` (not a test or a tool importing us)."""
    argv = sys.argv if argv is None else argv
    return bool(argv) and Path(argv[0]).parent.name == "rasa_sdk"


if started_by_action_server():
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
