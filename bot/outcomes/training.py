"""``python -m bot train-outcomes``: train the outcome extractor if it is missing or stale.

The model goes to ``OUTCOME_MODEL_DIR`` (default ``var/outcome_model``); it is stale when the
training files (``nlu_data/outcomes/*.yml``) or the feature settings changed since it was saved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="train even if the model is current")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="where to save (default: OUTCOME_MODEL_DIR)"
    )


def run(args: argparse.Namespace) -> int:
    from bot.outcomes import extractor as ex
    from bot.outcomes.tuned import TuningError
    from bot.settings import get_settings

    try:
        directory = Path(args.model_dir or get_settings().outcome_model_dir)
    except ValueError as exc:  # a setting with a value we do not know
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        model, trained = ex.ensure_model(directory, force=args.force)
    except ex.TrainingDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TuningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    if trained:
        print(
            f"Trained the outcome extractor on {model.meta.get('n_statements')} statements "
            f"and saved it to {directory} in {elapsed:.1f} s."
        )
    else:
        print(f"The outcome extractor in {directory} is up to date (use --force to retrain).")
    return 0
