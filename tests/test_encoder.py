"""The MiniLM encoder gives sensible, normalised sentence vectors."""

from __future__ import annotations

import numpy as np
import pytest

from bot.outcomes.encoder import EMBEDDING_DIM, SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_nothing_loads_at_construction():
    enc = SentenceEncoder(model_path="/nonexistent/model.onnx")
    assert enc._session is None  # loading is deferred to the first encode
    assert enc.encode([]).shape == (0, EMBEDDING_DIM)
    assert enc._session is None


def test_shape_dtype_and_unit_length(encoder):
    vectors = encoder.encode(["hello", "", "😊", "a much longer sentence about the bus " * 40])
    assert vectors.shape == (4, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def _sim(encoder, a: str, b: str) -> float:
    va, vb = encoder.encode([a, b])
    return float(va @ vb)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder):
    anchor = "I'm frightened of falling down the stairs."
    assert (
        _sim(encoder, anchor, "I worry I will trip on the steps at night.")
        > _sim(encoder, anchor, "The football was on the telly last night.") + 0.2
    )
    weather = "It's pouring with rain outside."
    assert (
        _sim(encoder, weather, "The weather is wet and miserable today.")
        > _sim(encoder, weather, "My carer never turns up on time.") + 0.2
    )


def test_batching_and_order_do_not_change_vectors(encoder):
    texts = ["short", "a somewhat longer sentence than that", "mid length one", "x"]
    small = SentenceEncoder(batch_size=1).encode(texts)
    big = encoder.encode(texts)
    np.testing.assert_allclose(small, big, atol=1e-3)
    reversed_ = encoder.encode(texts[::-1])[::-1]
    np.testing.assert_allclose(reversed_, big, atol=1e-5)
