"""Fast class scores from a fitted TF-IDF n-gram vocabulary, for one message at a time.

``TfidfVectorizer.transform`` followed by a sparse product costs a few milliseconds per call
in input checks and matrix construction, more than the arithmetic. :class:`NgramScorer` gives
the same numbers (``sublinear_tf``, l2 norm, as the extractor's vectorizers are set up) with a
dictionary look-up per n-gram and one small dense product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np


class NgramScorer:
    """``scores(texts) == vectorizer.transform(texts) @ weights`` for a fitted vectorizer."""

    def __init__(
        self,
        analyzer: Callable[[str], list[str]],
        vocabulary: Mapping[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
    ) -> None:
        if weights.shape[0] != len(vocabulary) or idf.shape[0] != len(vocabulary):
            raise ValueError("weights and idf need one row per vocabulary entry")
        self._analyzer = analyzer
        self._vocabulary = vocabulary
        self._idf = np.asarray(idf, dtype=np.float64)
        self._weights = np.ascontiguousarray(weights, dtype=np.float32)  # (n_terms, n_classes)

    @classmethod
    def from_vectorizer(cls, vectorizer, weights: np.ndarray) -> NgramScorer:
        """Build from a fitted (or loaded) ``TfidfVectorizer`` with ``sublinear_tf=True``."""
        if not vectorizer.sublinear_tf or vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError("NgramScorer expects sublinear_tf=True, norm='l2', use_idf=True")
        return cls(vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, weights)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), n_classes)`` float32 scores; all zeros for a text with no known n-gram."""
        out = np.zeros((len(texts), self._weights.shape[1]), dtype=np.float32)
        vocabulary = self._vocabulary
        for row, text in enumerate(texts):
            counts = Counter(
                vocabulary[term] for term in self._analyzer(text) if term in vocabulary
            )
            if not counts:
                continue
            columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values = (1.0 + np.log(tf)) * self._idf[columns]
            values /= np.linalg.norm(values)
            out[row] = values.astype(np.float32) @ self._weights[columns]
        return out
