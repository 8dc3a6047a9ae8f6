"""``python -m bot agreement FILE FILE [FILE ...]``: how far independent readers agree.

Each FILE is one reader's labels for the same statements (the ``evaluate`` format, same texts
in the same order). People do not agree on every reading of "I feel like a pest every time I
ring the surgery", so no extractor can be judged closer to "the truth" than readers are to
each other: the agreement between readers is the ceiling for the scores ``evaluate`` prints.

For every pair of files (the first as reference) the command prints the same micro-F1, group
and no-outcome accuracy as ``evaluate``; ``--with-model`` adds the extractor as one more
reader; ``--majority OUT`` writes the majority reading, where an id is kept when more than
half of the readers gave it. Exit codes: 0 done, 2 for a bad file or files that do not align.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from bot.outcomes.evaluation import (
    EvaluationDataError,
    LabelledStatement,
    ModelDirError,
    compute_metrics,
    fmt_score,
    load_model,
    load_statements,
    predictions_at,
    score_statements,
)
from bot.outcomes.framework import OUTCOME_IDS

MODEL_READER = "model"


def check_aligned(readings: Sequence[Sequence[LabelledStatement]], names: Sequence[str]) -> None:
    """Raise :class:`EvaluationDataError` unless every reading labels the same texts, in the
    same order, with the same roles."""
    first, first_name = readings[0], names[0]
    for reading, name in zip(readings[1:], names[1:], strict=True):
        if len(reading) != len(first):
            raise EvaluationDataError(
                f"{name} has {len(reading)} statements, {first_name} has {len(first)}"
            )
        for n, (a, b) in enumerate(zip(first, reading, strict=True), start=1):
            if a.text != b.text or a.role != b.role:
                raise EvaluationDataError(
                    f"{name} statement {n} ({b.text!r}, role {b.role}) is not "
                    f"{first_name}'s ({a.text!r}, role {a.role})"
                )


def majority(label_sets: Sequence[Sequence[frozenset[str]]]) -> list[frozenset[str]]:
    """Per statement, the ids that more than half of the readers gave."""
    if not label_sets:
        return []
    needed = len(label_sets) // 2 + 1
    out = []
    for labels in zip(*label_sets, strict=True):
        counts = Counter(oid for reader in labels for oid in reader)
        out.append(frozenset(oid for oid, c in counts.items() if c >= needed))
    return out


def pairwise(
    label_sets: Sequence[Sequence[frozenset[str]]], names: Sequence[str]
) -> list[tuple[str, str, dict]]:
    """(reference, other, metrics of ``other`` against ``reference``) for every pair."""
    return [
        (names[i], names[j], compute_metrics(label_sets[i], label_sets[j]))
        for i, j in combinations(range(len(names)), 2)
    ]


def dump_reading(statements: Sequence[LabelledStatement], labels: Sequence[frozenset[str]]) -> str:
    """``statements`` with ``labels`` as their outcomes, in the ``evaluate`` YAML format, one
    statement a line (a JSON string is a valid YAML double-quoted scalar)."""
    lines = ["statements:"]
    for s, ids in zip(statements, labels, strict=True):
        outcomes = ", ".join(o for o in OUTCOME_IDS if o in ids)
        role = f", role: {s.role}" if s.role is not None else ""
        text = json.dumps(s.text, ensure_ascii=False)
        lines.append(f"  - {{text: {text}, outcomes: [{outcomes}]{role}}}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- command
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", type=Path, nargs="+", help="one reader's labels per file")
    parser.add_argument(
        "--with-model", action="store_true", help="add the outcome extractor as a reader"
    )
    parser.add_argument(
        "--majority", type=Path, default=None, help="write the majority reading to this file"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="score the model saved in this folder as it is (default: OUTCOME_MODEL_DIR)",
    )


def run(args: argparse.Namespace) -> int:
    names = [f.stem for f in args.files]
    try:
        if len(args.files) + bool(args.with_model) < 2:
            raise EvaluationDataError("give at least two files (or one and --with-model)")
        readings = [load_statements(f) for f in args.files]
        check_aligned(readings, names)
    except EvaluationDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    label_sets = [[s.outcomes for s in r] for r in readings]
    if args.majority is not None:
        header = (
            f"# The majority reading of {', '.join(names)}: an id is kept when more than\n"
            "# half of them gave it. Written by `python -m bot agreement --majority`.\n"
        )
        body = dump_reading(readings[0], majority(label_sets))
        try:
            args.majority.write_text(header + body, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.majority} ({exc.strerror})", file=sys.stderr)
            return 2
    if args.with_model:
        try:
            label_sets.append(_model_reading(readings[0], args.model_dir))
        except ModelDirError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        names.append(MODEL_READER)

    width = max(len(n) for n in names)
    print(f"{len(readings[0])} statements; each row scores the second reader against the first")
    print(f"{'reference':<{width}}  {'reader':<{width}}  micro-F1  group   none")
    for ref, other, m in pairwise(label_sets, names):
        print(
            f"{ref:<{width}}  {other:<{width}}  {m['micro_f1']:.3f}     "
            f"{fmt_score(m['group_accuracy']):>5}  {fmt_score(m['none_accuracy']):>5}"
        )
    return 0


def _model_reading(statements: Sequence[LabelledStatement], model_dir: Path | None):
    from bot.settings import get_settings

    scores, _ = score_statements(load_model(model_dir), statements)
    return predictions_at(scores, get_settings().outcome_threshold)
