"""A vote of the most similar training statements, blended into the extractor's probabilities.

The regression draws one boundary per outcome; near a statement with two outcomes it tends to
give nearly all the weight to one of them. The training statements most like a new one (cosine
on the tuned sentence vectors) carry both more often, so their labels, weighted by similarity,
are a second opinion that hears the quieter outcome too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class NeighbourVote:
    """Label shares of the ``k`` nearest training statements, softmax-weighted by cosine.

    ``vectors``: (n, d) unit-length sentence vectors of the training statements; ``shares``:
    (n, n_classes) each statement's label shares (``extractor.label_shares``).
    """

    def __init__(self, vectors: np.ndarray, shares: np.ndarray, k: int, temperature: float) -> None:
        if len(vectors) != len(shares):
            raise ValueError("one row of label shares per training vector")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.shares = np.ascontiguousarray(shares, dtype=np.float32)
        self.k = max(1, min(int(k), len(self.vectors)))
        self.temperature = float(temperature)

    def vote(self, unit_vectors: np.ndarray, cols: Sequence[int]) -> np.ndarray:
        """(units, len(cols)) vote over the classes ``cols``, each row summing to 1; a row is
        all zeros when no neighbour carries any of ``cols``."""
        sims = np.asarray(unit_vectors, dtype=np.float32) @ self.vectors.T
        if self.k < sims.shape[1]:
            nearest = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
        else:
            nearest = np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
        near_sims = np.take_along_axis(sims, nearest, axis=1)
        weights = np.exp((near_sims - near_sims.max(axis=1, keepdims=True)) / self.temperature)
        labels = self.shares[nearest][:, :, list(cols)]  # (units, k, len(cols))
        votes = np.einsum("uk,ukc->uc", weights, labels)
        totals = votes.sum(axis=1, keepdims=True)
        return np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0)


def blend(probs: np.ndarray, votes: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * probs + weight * votes`` row by row; a row with no vote keeps ``probs``."""
    has_vote = votes.sum(axis=1, keepdims=True) > 0
    return np.where(has_vote, (1.0 - weight) * probs + weight * votes, probs)
