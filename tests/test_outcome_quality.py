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
# the fine-tuned encoder, 10,666 training statements (round 5 included) plus their two-part ones,
# with the neighbour vote and the sentence vectors at half size in the regression (C 1, decision
# point 0.22) (micro-F1 / macro-F1 / group / none): dev 0.844 / 0.852 / 0.850 / 1.000, fresh
# 0.795 / 0.811 / 0.778 / 0.960, unseen 0.919 / 0.922 / 0.906 / 1.000, engineer check 0.915 /
# 0.911 / 0.889 / 1.000, indirect 0.718 / 0.721 / 0.638 / 0.967, the majority of three readings
# (readings/README.md) 0.764 / 0.763 / 0.708 / 0.961, blind 0.719 / 0.716 / 0.671 / 0.818,
# blind2 0.739 / 0.738 / 0.663 / 0.879.
# Each floor sits a little below; the fine-tuning is deterministic (a fresh clone tuned a
# bit-identical encoder), but another seed or order of the training lines moves dev micro-F1 by
# about 0.03. Raise them as it improves.
FLOORS = {
    "outcomes_dev.yml": {
        "micro_f1": 0.82,
        "macro_f1": 0.83,
        "group_accuracy": 0.82,
        "none_accuracy": 0.96,
    },
    "outcomes_fresh.yml": {
        "micro_f1": 0.77,
        "macro_f1": 0.78,
        "group_accuracy": 0.75,
        "none_accuracy": 0.92,
    },
    "outcomes_engineer_check.yml": {
        "micro_f1": 0.89,
        "macro_f1": 0.89,
        "group_accuracy": 0.86,
        "none_accuracy": 0.85,
    },
    "outcomes_indirect.yml": {
        "micro_f1": 0.7,
        "macro_f1": 0.7,
        "group_accuracy": 0.61,
        "none_accuracy": 0.94,
    },
    "readings/majority.yml": {
        "micro_f1": 0.74,
        "macro_f1": 0.74,
        "group_accuracy": 0.68,
        "none_accuracy": 0.95,
    },
    "outcomes_unseen.yml": {
        "micro_f1": 0.89,
        "macro_f1": 0.89,
        "group_accuracy": 0.88,
        "none_accuracy": 0.95,
    },
    "outcomes_blind.yml": {
        "micro_f1": 0.7,
        "macro_f1": 0.7,
        "group_accuracy": 0.65,
        "none_accuracy": 0.78,
    },
    "outcomes_blind2.yml": {
        "micro_f1": 0.72,
        "macro_f1": 0.72,
        "group_accuracy": 0.64,
        "none_accuracy": 0.85,
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
