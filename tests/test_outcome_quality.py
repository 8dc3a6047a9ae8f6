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

# Measured with `make evaluate DATA=...` when these floors were set; raise them as it improves.
FLOORS = {
    "outcomes_dev.yml": {"micro_f1": 0.71, "group_accuracy": 0.69, "none_accuracy": 0.9},
    "outcomes_engineer_check.yml": {"micro_f1": 0.83, "group_accuracy": 0.88, "none_accuracy": 0.8},
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
