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
# the fine-tuned encoder, 8,815 training statements plus 2,468 two-part ones, with the neighbour
# vote (micro-F1 / macro-F1 / group / none): dev 0.823 / 0.834 / 0.842 / 1.000, fresh 0.774 /
# 0.785 / 0.763 / 0.960, unseen 0.865 / 0.871 / 0.875 / 1.000, engineer check 0.949 / 0.929 /
# 0.963 / 1.000, indirect 0.687 / 0.687 / 0.621 / 0.918, the majority of three readings
# (readings/README.md) 0.728 / 0.726 / 0.676 / 0.948, blind 0.699 / 0.696 / 0.634 / 0.818.
# Each floor sits a little below; the fine-tuning is deterministic on one machine, but another
# seed or order of the training lines moves dev micro-F1 by about 0.03. Raise them as it improves.
FLOORS = {
    "outcomes_dev.yml": {
        "micro_f1": 0.8,
        "macro_f1": 0.81,
        "group_accuracy": 0.82,
        "none_accuracy": 0.96,
    },
    "outcomes_fresh.yml": {
        "micro_f1": 0.75,
        "macro_f1": 0.76,
        "group_accuracy": 0.72,
        "none_accuracy": 0.92,
    },
    "outcomes_engineer_check.yml": {
        "micro_f1": 0.92,
        "macro_f1": 0.9,
        "group_accuracy": 0.92,
        "none_accuracy": 0.85,
    },
    "outcomes_indirect.yml": {
        "micro_f1": 0.67,
        "macro_f1": 0.67,
        "group_accuracy": 0.6,
        "none_accuracy": 0.9,
    },
    "readings/majority.yml": {
        "micro_f1": 0.71,
        "macro_f1": 0.71,
        "group_accuracy": 0.65,
        "none_accuracy": 0.94,
    },
    "outcomes_unseen.yml": {
        "micro_f1": 0.84,
        "macro_f1": 0.85,
        "group_accuracy": 0.85,
        "none_accuracy": 0.95,
    },
    "outcomes_blind.yml": {
        "micro_f1": 0.68,
        "macro_f1": 0.68,
        "group_accuracy": 0.61,
        "none_accuracy": 0.78,
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
