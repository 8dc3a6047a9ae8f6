"""A floor on outcome understanding, measured on the development set (never trained on), so
that a change to the data or the model that makes it worse fails CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.outcomes.evaluation import compute_metrics, load_statements
from bot.outcomes.extractor import get_extractor
from bot.outcomes.framework import ids_for_role
from bot.settings import get_settings

DATA = Path(__file__).parent / "data"

# Measured with `python -m bot evaluate FILE` when these floors were set, on the extractor over
# the fine-tuned encoder (micro-F1 / macro-F1 / group / none): dev 0.834 / 0.844 / 0.858 /
# 1.000, fresh 0.773 / 0.790 / 0.741 / 1.000, unseen 0.944 / 0.922 / 0.969 / 1.000, engineer
# check 0.931 / 0.917 / 0.926 / 1.000, indirect 0.638 / 0.638 / 0.579 / 0.809, the majority of
# three readings (readings/README.md) 0.689 / 0.689 / 0.619 / 0.922. Each floor sits a
# little below; the fine-tuning is deterministic on one machine, but another seed moves dev
# micro-F1 by about 0.03 (0.834 with seed 13, 0.807 with 14). Raise them as it improves.
FLOORS = {
    "outcomes_dev.yml": {
        "micro_f1": 0.81,
        "macro_f1": 0.82,
        "group_accuracy": 0.82,
        "none_accuracy": 0.96,
    },
    "outcomes_fresh.yml": {
        "micro_f1": 0.75,
        "macro_f1": 0.77,
        "group_accuracy": 0.71,
        "none_accuracy": 0.95,
    },
    "outcomes_engineer_check.yml": {
        "micro_f1": 0.90,
        "macro_f1": 0.88,
        "group_accuracy": 0.88,
        "none_accuracy": 0.85,
    },
    "outcomes_indirect.yml": {
        "micro_f1": 0.62,
        "macro_f1": 0.62,
        "group_accuracy": 0.56,
        "none_accuracy": 0.78,
    },
    "readings/majority.yml": {
        "micro_f1": 0.66,
        "macro_f1": 0.66,
        "group_accuracy": 0.59,
        "none_accuracy": 0.89,
    },
    "outcomes_unseen.yml": {
        "micro_f1": 0.91,
        "macro_f1": 0.89,
        "group_accuracy": 0.92,
        "none_accuracy": 0.95,
    },
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_outcome_understanding_stays_above_its_floor(name):
    statements = load_statements(DATA / name)
    extractor = get_extractor()
    threshold = get_settings().outcome_threshold
    pred = [
        {f.outcome_id for f in extractor.predict(s.text, ids_for_role(s.role), threshold)}
        for s in statements
    ]
    metrics = compute_metrics([s.outcomes for s in statements], pred)
    for key, floor in FLOORS[name].items():
        assert metrics[key] >= floor, f"{name}: {key} {metrics[key]:.3f} < {floor}"
