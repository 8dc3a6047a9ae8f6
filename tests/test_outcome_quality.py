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
# with the neighbour vote (micro-F1 / macro-F1 / group / none): dev 0.827 / 0.838 / 0.842 /
# 1.000, fresh 0.789 / 0.800 / 0.778 / 0.960, unseen 0.904 / 0.889 / 0.906 / 1.000, engineer
# check 0.915 / 0.911 / 0.889 / 1.000, indirect 0.699 / 0.701 / 0.624 / 0.967, the majority of
# three readings (readings/README.md) 0.734 / 0.733 / 0.684 / 0.974, blind 0.706 / 0.705 /
# 0.662 / 0.788, blind2 0.719 / 0.721 / 0.635 / 0.879.
# Each floor sits a little below; the fine-tuning is deterministic (a fresh clone tuned a
# bit-identical encoder), but another seed or order of the training lines moves dev micro-F1 by
# about 0.03. Raise them as it improves.
FLOORS = {
    "outcomes_dev.yml": {
        "micro_f1": 0.8,
        "macro_f1": 0.81,
        "group_accuracy": 0.82,
        "none_accuracy": 0.96,
    },
    "outcomes_fresh.yml": {
        "micro_f1": 0.76,
        "macro_f1": 0.77,
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
        "micro_f1": 0.68,
        "macro_f1": 0.68,
        "group_accuracy": 0.6,
        "none_accuracy": 0.94,
    },
    "readings/majority.yml": {
        "micro_f1": 0.72,
        "macro_f1": 0.72,
        "group_accuracy": 0.66,
        "none_accuracy": 0.95,
    },
    "outcomes_unseen.yml": {
        "micro_f1": 0.88,
        "macro_f1": 0.86,
        "group_accuracy": 0.88,
        "none_accuracy": 0.95,
    },
    "outcomes_blind.yml": {
        "micro_f1": 0.69,
        "macro_f1": 0.69,
        "group_accuracy": 0.64,
        "none_accuracy": 0.75,
    },
    "outcomes_blind2.yml": {
        "micro_f1": 0.7,
        "macro_f1": 0.7,
        "group_accuracy": 0.61,
        "none_accuracy": 0.84,
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
