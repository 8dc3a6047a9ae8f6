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
# the fine-tuned encoder, 8,815 training statements (micro-F1 / macro-F1 / group / none): dev
# 0.825 / 0.833 / 0.850 / 1.000, fresh 0.773 / 0.781 / 0.748 / 0.960, unseen 0.914 / 0.904 /
# 0.906 / 1.000, engineer check 0.933 / 0.921 / 0.926 / 1.000, indirect 0.669 / 0.670 / 0.593 /
# 0.940, the majority of three readings (readings/README.md) 0.707 / 0.711 / 0.649 / 0.961.
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
        "micro_f1": 0.9,
        "macro_f1": 0.88,
        "group_accuracy": 0.88,
        "none_accuracy": 0.85,
    },
    "outcomes_indirect.yml": {
        "micro_f1": 0.65,
        "macro_f1": 0.65,
        "group_accuracy": 0.57,
        "none_accuracy": 0.92,
    },
    "readings/majority.yml": {
        "micro_f1": 0.68,
        "macro_f1": 0.69,
        "group_accuracy": 0.62,
        "none_accuracy": 0.94,
    },
    "outcomes_unseen.yml": {
        "micro_f1": 0.88,
        "macro_f1": 0.87,
        "group_accuracy": 0.87,
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
