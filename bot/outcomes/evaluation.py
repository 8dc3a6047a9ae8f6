"""``python -m bot evaluate FILE``: score the outcome extractor on a labelled YAML file.

FILE holds ``statements: [{text: ..., outcomes: [ids], role: person|carer|pa_employer}]``
(other keys on an item are ignored). The last line on standard output is a JSON object::

    {"n", "micro_f1", "macro_f1", "group_accuracy", "none_accuracy",
     "per_outcome": {id: {"precision", "recall", "f1", "support"}}, "median_ms_per_statement"}

Definitions (see the pure functions below, which the tests exercise):

- micro_f1: F1 over every (statement, outcome id) decision, all ids pooled.
- macro_f1: mean of the per-id F1 over the ids that occur in the gold labels or in the
  predictions (so predicting an id that never occurs counts against it).
- group_accuracy: among statements with at least one gold outcome, the share whose set of
  predicted groups (``framework.group_of``) equals the gold set of groups exactly.
- none_accuracy: among statements with no gold outcome, the share where nothing was
  predicted (``null`` when the file has none).

Role: an item with ``role`` is scored over that role's ids only (``ids_for_role``), because in
a conversation the assistant knows whether it is talking to a carer or not and asks the
extractor about that set; an item without ``role`` is scored over all 30 ids.
``--ignore-role`` scores every item over all 30 ids (a harder test).

Standard error gets the most frequent mix-ups (gold id -> wrongly predicted id, counts).
Exit codes: 0 done, 2 for a missing file, bad YAML, a bad item or an unknown outcome id / role.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.outcomes.framework import OUTCOME_IDS, ROLES, group_of, ids_for_role

NONE = "none"


class EvaluationDataError(ValueError):
    """The labelled file cannot be used; the message says why (exit code 2)."""


@dataclass(frozen=True)
class LabelledStatement:
    text: str
    outcomes: frozenset[str]
    role: str | None = None
    line: int | None = None


# --------------------------------------------------------------------- reading (pure + I/O)
def parse_statements(
    data: object, source: str = "<data>", lines: Sequence[int | None] | None = None
) -> list[LabelledStatement]:
    """Validate already-parsed YAML; raises :class:`EvaluationDataError` naming the problem."""
    if not isinstance(data, Mapping) or not isinstance(data.get("statements"), list):
        raise EvaluationDataError(f"{source}: expected a top-level 'statements:' list")
    known = set(OUTCOME_IDS)
    out: list[LabelledStatement] = []
    for n, item in enumerate(data["statements"]):
        line = lines[n] if lines is not None and n < len(lines) else None
        where = f"{source}:{line}" if line else f"{source} statement {n + 1}"
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            raise EvaluationDataError(f"{where}: each statement needs a 'text' string")
        text = item["text"]
        ids = item.get("outcomes")
        if ids is None:
            ids = []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise EvaluationDataError(f"{where}: 'outcomes' must be a list of ids ({text!r})")
        for oid in ids:
            if oid not in known:
                raise EvaluationDataError(f"{where}: unknown outcome id {oid!r} in {text!r}")
        role = item.get("role")
        if role is not None and role not in ROLES:
            raise EvaluationDataError(
                f"{where}: unknown role {role!r} in {text!r} (expected one of {', '.join(ROLES)})"
            )
        out.append(LabelledStatement(text, frozenset(ids), role, line))
    if not out:
        raise EvaluationDataError(f"{source}: no statements")
    return out


def load_statements(path: str | Path) -> list[LabelledStatement]:
    """Read and validate a labelled file; every problem is an :class:`EvaluationDataError`."""
    data, lines = read_yaml(path)
    return parse_statements(data, str(path), lines)


def read_yaml(path: str | Path) -> tuple[object, list[int | None] | None]:
    """A labelled file's parsed YAML and the line of each statement, not yet validated."""
    import yaml

    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationDataError(f"{path}: cannot read ({exc})") from None
    # One parse gives both the nodes (for line numbers) and the data; libyaml when present.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(raw)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise EvaluationDataError(f"{path}: not valid YAML ({exc})") from None
    finally:
        loader.dispose()
    return data, _item_lines(node)


def _item_lines(node) -> list[int | None] | None:
    """1-based line of each item under ``statements:`` (for error messages)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "statements" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return None


# --------------------------------------------------------------------- metrics (pure)
def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def compute_metrics(
    gold: Sequence[frozenset[str] | set[str]], pred: Sequence[frozenset[str] | set[str]]
) -> dict:
    """Micro/macro F1, group and none accuracy and per-id scores for parallel label sets."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have the same length")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    group_hits, group_n, none_hits, none_n = 0, 0, 0, 0
    for g, p in zip(gold, pred, strict=True):
        g, p = set(g), set(p)
        for oid in g & p:
            tp[oid] += 1
        for oid in p - g:
            fp[oid] += 1
        for oid in g - p:
            fn[oid] += 1
        if g:
            group_n += 1
            group_hits += {group_of(o) for o in g} == {group_of(o) for o in p}
        else:
            none_n += 1
            none_hits += not p
    seen = [oid for oid in OUTCOME_IDS if tp[oid] + fp[oid] + fn[oid]]
    per_outcome = {}
    for oid in seen:
        precision = tp[oid] / (tp[oid] + fp[oid]) if tp[oid] + fp[oid] else 0.0
        recall = tp[oid] / (tp[oid] + fn[oid]) if tp[oid] + fn[oid] else 0.0
        per_outcome[oid] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(_f1(tp[oid], fp[oid], fn[oid]), 4),
            "support": tp[oid] + fn[oid],
        }
    micro = _f1(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = sum(_f1(tp[o], fp[o], fn[o]) for o in seen) / len(seen) if seen else 0.0
    return {
        "n": len(gold),
        "micro_f1": round(micro, 4),
        "macro_f1": round(macro, 4),
        "group_accuracy": round(group_hits / group_n, 4) if group_n else None,
        "none_accuracy": round(none_hits / none_n, 4) if none_n else None,
        "per_outcome": per_outcome,
    }


def confusion_pairs(
    gold: Sequence[frozenset[str] | set[str]], pred: Sequence[frozenset[str] | set[str]]
) -> Counter[tuple[str, str]]:
    """Counts of (gold id -> wrongly predicted id) over statements.

    Every missed gold id is paired with every wrongly predicted id of the same statement.
    ``none`` stands in on the left for a wrong id that replaced no missed id (a false alarm
    on a no-outcome line, or an extra id next to the right ones), and on the right for a
    missed id with nothing wrong predicted.
    """
    pairs: Counter[tuple[str, str]] = Counter()
    for g, p in zip(gold, pred, strict=True):
        missed = sorted(set(g) - set(p)) or [NONE]
        wrong = sorted(set(p) - set(g)) or [NONE]
        for m in missed:
            for w in wrong:
                if (m, w) != (NONE, NONE):
                    pairs[(m, w)] += 1
    return pairs


def predictions_at(scores: Sequence[Mapping[str, float]], threshold: float) -> list[frozenset[str]]:
    """Predicted id sets from per-statement confidences."""
    return [frozenset(oid for oid, c in s.items() if c >= threshold) for s in scores]


def sweep(
    gold: Sequence[frozenset[str]],
    scores: Sequence[Mapping[str, float]],
    thresholds: Sequence[float],
) -> list[tuple[float, float]]:
    """(threshold, micro-F1) for each threshold."""
    return [(t, compute_metrics(gold, predictions_at(scores, t))["micro_f1"]) for t in thresholds]


class ModelDirError(ValueError):
    """``--model-dir`` holds no model that can be loaded; the message says why."""


def load_model(model_dir: Path | None = None):
    """The extractor in ``model_dir`` exactly as saved, else the process-wide one from
    ``OUTCOME_MODEL_DIR`` (trained there first if missing or stale).

    A model asked for by its folder is never retrained: comparing models must not replace
    the one being compared. When it was trained on other data than ``nlu_data/outcomes``
    holds now, a warning says so on standard error and it is scored as it is.
    """
    from bot.outcomes import extractor as ex

    if model_dir is None:
        return ex.get_extractor()
    if not (Path(model_dir) / "meta.json").is_file():
        raise ModelDirError(f"{model_dir} holds no outcome model (no meta.json)")
    try:
        model = ex.OutcomeExtractor.load(model_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelDirError(f"the outcome model in {model_dir} cannot be loaded: {exc}") from exc
    if ex.is_stale(model_dir):
        print(
            f"warning: {model_dir} was trained on other data or settings than the current "
            "ones; scoring it as it is",
            file=sys.stderr,
        )
    return model


def score_statements(
    model, statements: Sequence[LabelledStatement], ignore_role: bool = False
) -> tuple[list[dict[str, float]], list[float]]:
    """Each statement's confidences (over its role's ids unless ``ignore_role``) and the
    milliseconds each took; the encoder is loaded first so that it is not timed."""
    model.score("warm up")
    scores: list[dict[str, float]] = []
    timings: list[float] = []
    for s in statements:
        allowed = None if ignore_role or s.role is None else ids_for_role(s.role)
        started = time.perf_counter()
        result = model.score(s.text, allowed)
        timings.append((time.perf_counter() - started) * 1000)
        scores.append({oid: conf for oid, (conf, _) in result.items()})
    return scores, timings


# --------------------------------------------------------------------- command
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="YAML file with 'statements: [{text, outcomes}]'")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="confidence needed to count an outcome as found (default: OUTCOME_THRESHOLD, 0.5)",
    )
    parser.add_argument(
        "--ignore-role", action="store_true", help="score every statement over all 30 ids"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="score the model saved in this folder as it is (default: OUTCOME_MODEL_DIR, "
        "retrained first if stale)",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also print micro-F1 over thresholds on stderr"
    )


def run(args: argparse.Namespace) -> int:
    try:
        statements = load_statements(args.file)
        model = load_model(args.model_dir)
    except (EvaluationDataError, ModelDirError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    threshold = args.threshold
    if threshold is None:
        from bot.settings import get_settings

        threshold = get_settings().outcome_threshold

    scores, timings = score_statements(model, statements, args.ignore_role)
    gold = [s.outcomes for s in statements]
    pred = predictions_at(scores, threshold)
    metrics = compute_metrics(gold, pred)
    metrics["median_ms_per_statement"] = round(statistics.median(timings), 2)
    metrics["threshold"] = threshold

    _print_confusions(gold, pred)
    if args.sweep:
        grid = [round(0.2 + 0.025 * i, 3) for i in range(25)]
        print("threshold sweep (micro-F1):", file=sys.stderr)
        for t, f1 in sweep(gold, scores, grid):
            print(f"  {t:.3f}  {f1:.4f}", file=sys.stderr)
    print(
        f"{args.file}: n={metrics['n']} micro-F1={metrics['micro_f1']:.3f} "
        f"macro-F1={metrics['macro_f1']:.3f} group={fmt_score(metrics['group_accuracy'])} "
        f"none={fmt_score(metrics['none_accuracy'])} threshold={threshold} "
        f"median {metrics['median_ms_per_statement']} ms/statement"
    )
    print(json.dumps(metrics, sort_keys=False))
    return 0


def fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _print_confusions(gold, pred, top: int = 15) -> None:
    pairs = confusion_pairs(gold, pred)
    if not pairs:
        print("no mix-ups", file=sys.stderr)
        return
    print("most frequent mix-ups (gold -> predicted instead, count):", file=sys.stderr)
    for (g, p), count in pairs.most_common(top):
        print(f"  {g} -> {p}: {count}", file=sys.stderr)
