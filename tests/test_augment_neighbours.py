"""Two-part training statements and the neighbour vote: the pure pieces of the extractor."""

from __future__ import annotations

import numpy as np
import pytest

from bot.outcomes.augment import join_parts, two_part_statements
from bot.outcomes.extractor import TrainingStatement, load_training_statements, training_files
from bot.outcomes.framework import CARER, PERSON, ids_for_role
from bot.outcomes.neighbours import NeighbourVote, blend

CARER_IDS = set(ids_for_role(CARER))
PERSON_IDS = set(ids_for_role(PERSON))


@pytest.mark.parametrize(
    ("first", "second", "joiner", "expected"),
    [
        ("The bus is late.", "She never phones.", " and ", "The bus is late and she never phones."),
        ("Bored stiff!", "I miss the choir", ". ", "Bored stiff. I miss the choir"),
        ("Nobody came,", "I'm scared at night", " but ", "Nobody came but I'm scared at night"),
        ("ok", "The pills are wrong", ". Also ", "ok. Also the pills are wrong"),
    ],
)
def test_join_parts(first, second, joiner, expected):
    assert join_parts(first, second, joiner) == expected


def test_two_part_statements_from_the_training_files():
    real = load_training_statements(training_files())
    made = two_part_statements(real)
    assert made == two_part_statements(real)  # deterministic
    assert abs(len(made) - round(0.28 * len(real))) <= 1
    texts = {s.text for s in real}
    for s in made:
        ids = set(s.outcomes)
        assert len(s.outcomes) in (1, 2) and len(ids) == len(s.outcomes)
        assert ids <= CARER_IDS or ids <= PERSON_IDS, s  # never a person's id beside a carer's
        assert s.text not in texts
    assert sum(len(s.outcomes) == 2 for s in made) > 0.5 * len(made)
    assert sum(len(s.outcomes) == 1 for s in made) > 0.1 * len(made)  # beside small talk


def test_two_part_statements_stop_on_sets_that_cannot_pair():
    chatter = [TrainingStatement(t, ()) for t in ("ok", "thanks", "aye")]
    assert two_part_statements(chatter) == []
    one = [TrainingStatement("I'm scared at night", ("feeling_safe",))] * 10
    assert two_part_statements(one) == []  # every pair would repeat its id
    assert two_part_statements([]) == []


def unit(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_neighbour_vote_weighs_the_nearest_labels():
    vectors = unit([1, 0], [0.9, 0.1], [0, 1], [-1, 0])
    shares = np.array(
        [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32
    )  # classes: a, b, none
    vote = NeighbourVote(vectors, shares, k=2, temperature=0.05)
    got = vote.vote(unit([1, 0.05]), cols=[0, 1, 2])
    assert got.shape == (1, 3) and got.sum() == pytest.approx(1.0)
    assert got[0, 0] > got[0, 1] > 0 and got[0, 2] == 0  # two nearest only: a, then a+b
    sharp = NeighbourVote(vectors, shares, k=2, temperature=0.001).vote(unit([1, 0]), [0, 1, 2])
    assert sharp[0, 0] > got[0, 0]  # a lower temperature trusts the nearest more
    everyone = NeighbourVote(vectors, shares, k=99, temperature=1.0).vote(unit([1, 0]), [0, 1, 2])
    assert everyone[0, 2] > 0  # k beyond the training set: all of it votes


def test_neighbour_vote_over_classes_nobody_near_carries():
    vectors, shares = unit([1, 0], [0, 1]), np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    got = NeighbourVote(vectors, shares, k=1, temperature=0.05).vote(unit([1, 0]), cols=[1, 2])
    assert got.tolist() == [[0.0, 0.0]]
    probs = np.array([[0.3, 0.7]])
    assert blend(probs, got, 0.5).tolist() == probs.tolist()  # no vote: the regression stands
    assert blend(probs, np.array([[1.0, 0.0]]), 0.5).tolist() == [[0.65, 0.35]]


def test_neighbour_vote_needs_one_label_row_per_vector():
    with pytest.raises(ValueError):
        NeighbourVote(unit([1, 0]), np.zeros((2, 3)), k=1, temperature=0.05)
