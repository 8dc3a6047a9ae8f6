"""Real behaviour of the outcome extractor (one trained model shared by the session)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bot.outcomes import extractor as ex
from bot.outcomes.evaluation import load_statements
from bot.outcomes.framework import CARER, OUTCOME_IDS, PERSON, ids_for_role
from bot.settings import get_settings


@pytest.fixture(scope="session")
def model() -> ex.OutcomeExtractor:
    """The normal cached model (var/outcome_model or OUTCOME_MODEL_DIR), trained once if
    missing or stale."""
    extractor, _ = ex.ensure_model(get_settings().outcome_model_dir)
    return extractor


def ids(found) -> list[str]:
    return [f.outcome_id for f in found]


def test_finds_obvious_outcomes_in_new_words(model):
    found = model.predict("I'm terrified of falling on the stairs at night")
    assert found, "expected an outcome"
    assert {"feeling_safe", "improved_mobility"} & set(ids(found[:2]))
    assert all(isinstance(f, ex.FoundOutcome) for f in found)
    assert found == sorted(found, key=lambda f: -f.confidence)
    assert all(0.0 <= f.confidence <= 1.0 for f in found)


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("Nobody ever gets back to me when I phone the council.", PERSON, "responded_to"),
        ("I want to learn to cook my own tea.", PERSON, "improved_skills"),
        (
            "I haven't had a proper night's sleep in months, I'm exhausted.",
            CARER,
            "carer_health_wellbeing",
        ),
        (
            "We can't pay the gas bill since I stopped work to look after him.",
            CARER,
            "carer_financial",
        ),
    ],
)
def test_obvious_outcomes_by_role(model, text, role, expected):
    assert expected in ids(model.predict(text, allowed_ids=ids_for_role(role)))


@pytest.mark.parametrize("text", ["ok", "thanks", "hmm let me think", "is it raining?"])
def test_no_outcome_lines_find_nothing(model, text):
    assert model.predict(text) == []


def test_role_restriction(model):
    text = "I'm worn out looking after my mum and I never get a minute to myself."
    carer = model.predict(text, allowed_ids=ids_for_role(CARER))
    assert carer and set(ids(carer)) <= set(ids_for_role(CARER))
    person = model.predict(text, allowed_ids=ids_for_role(PERSON))
    assert set(ids(person)) <= set(ids_for_role(PERSON))
    assert model.predict(text, allowed_ids=[]) == []
    with pytest.raises(ValueError, match="not_an_id"):
        model.predict(text, allowed_ids=["not_an_id"])


def test_quotes_the_sentence_that_carried_each_outcome(model):
    first = "I want to learn to use the computer so I can email my grandson."
    second = "The carers turn up at different times every day and I never know who's coming."
    found = {f.outcome_id: f for f in model.predict(f"{first} {second}", ids_for_role(PERSON))}
    assert "improved_skills" in found and found["improved_skills"].quote == first
    assert "reliability" in found and found["reliability"].quote == second
    single = model.predict(second)
    assert single and all(f.quote == second for f in single)


def test_threshold(model):
    text = "The carers turn up at different times every day."
    assert model.predict(text, threshold=1.01) == []
    everything = model.predict(text, threshold=0.0)
    assert set(ids(everything)) == set(OUTCOME_IDS)
    assert len(model.predict(text, threshold=0.5)) < len(everything)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "😊😊😊", "👍", "?!...", "\x00\x01", "a", "ok " * 5, None, 12345],
)
def test_weird_input_does_not_crash(model, text):
    assert isinstance(model.predict(text), list)


def test_huge_input_is_capped(model):
    huge = ("I never know when the carer is coming. " * 3000)[:100_000]
    started = time.perf_counter()
    found = model.predict(huge)
    assert time.perf_counter() - started < 10
    assert "reliability" in ids(found)
    assert len(ex.split_sentences(huge)) == ex.MAX_SENTENCES
    no_breaks = "word " * 20_000
    assert isinstance(model.predict(no_breaks), list)


def test_split_sentences():
    assert ex.split_sentences("One. Two! Three? Four") == ["One.", "Two!", "Three?", "Four"]
    assert ex.split_sentences("line one\nline two") == ["line one", "line two"]
    assert ex.split_sentences("  ") == []
    assert ex.split_sentences("😊. ok.") == ["ok."]


def test_save_load_round_trip(model, tmp_path):
    model.save(tmp_path)
    expected = {"model.npz", "vocab.json", "meta.json"}
    if model.encoder_file:
        expected.add(ex.ENCODER_FILE)
    assert {p.name for p in tmp_path.iterdir()} == expected
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["fingerprint"] and meta["decision_point"] == ex.DECISION_POINT
    assert meta["neighbours"]["weight"] == ex.NEIGHBOUR_WEIGHT > 0
    assert meta["n_two_part"] > 0.2 * meta["n_statements"]
    with np.load(tmp_path / "model.npz") as arrays:  # the vote remembers the real lines only
        assert arrays["neighbour_vectors"].shape == (meta["n_statements"], 384)
        assert arrays["neighbour_shares"].shape == (meta["n_statements"], len(OUTCOME_IDS) + 1)
    loaded = ex.OutcomeExtractor.load(tmp_path, encoder=model.encoder)
    for text in [
        "I'm terrified of falling on the stairs at night",
        "ok",
        "My dad's lonely. I'd like him to get out more. I'm shattered myself.",
    ]:
        assert loaded.predict(text) == model.predict(text)
        assert loaded.predict(text, ids_for_role(CARER)) == model.predict(text, ids_for_role(CARER))


TINY = """statements:
  - {text: "I am scared of being on my own at night", outcomes: [feeling_safe]}
  - {text: "Someone tried to break in and I feel unsafe", outcomes: [feeling_safe]}
  - {text: "I'd love to get to the football again", outcomes: [having_things_to_do]}
  - {text: "I'm bored with nothing to do all day", outcomes: [having_things_to_do]}
  - {text: "thanks", outcomes: []}
  - {text: "ok", outcomes: []}
"""


def test_stale_fingerprint_retrains(tmp_path, encoder_dir):
    data = tmp_path / "tiny.yml"
    data.write_text(TINY)
    model_dir = tmp_path / "model"
    assert ex.is_stale(model_dir, [data])
    first, trained = ex.ensure_model(model_dir, files=[data])
    assert trained and not ex.is_stale(model_dir, [data])
    _, trained = ex.ensure_model(model_dir, files=[data])
    assert not trained  # current: loaded, not retrained
    data.write_text(TINY + '  - {text: "I feel safe with my alarm", outcomes: [feeling_safe]}\n')
    assert ex.is_stale(model_dir, [data])
    second, trained = ex.ensure_model(model_dir, files=[data])
    assert trained and second.meta["n_statements"] == first.meta["n_statements"] + 1
    meta = json.loads((model_dir / "meta.json").read_text())
    meta["fingerprint"] = "0" * 64
    (model_dir / "meta.json").write_text(json.dumps(meta))
    assert ex.is_stale(model_dir, [data])
    assert ex.ensure_model(model_dir, files=[data])[1]
    (model_dir / "model.npz").write_bytes(b"garbage")
    # a corrupt model with a current fingerprint is retrained rather than crashing
    _, trained = ex.ensure_model(model_dir, files=[data])
    assert trained
    _, force_trained = ex.ensure_model(model_dir, force=True, files=[data])
    assert force_trained
    assert not list(tmp_path.glob("model.tmp-*")) and not list(tmp_path.glob("model.old-*"))


def test_trains_on_data_with_a_single_outcome_and_none(tmp_path, encoder_dir):
    """Two classes: scikit-learn keeps one row of weights, the extractor needs both."""
    data = tmp_path / "two.yml"
    data.write_text(
        "statements:\n"
        '  - {text: "I am scared on my own at night", outcomes: [feeling_safe]}\n'
        '  - {text: "I feel unsafe since the break-in", outcomes: [feeling_safe]}\n'
        '  - {text: "thanks", outcomes: []}\n'
        '  - {text: "ok", outcomes: []}\n'
    )
    model = ex.OutcomeExtractor.train([data])
    safe = model.score("I am scared on my own at night")["feeling_safe"][0]
    plain = max(model.score(t)["feeling_safe"][0] for t in ("thanks", "ok"))
    # Four lines are too few to push "thanks" below a decision point chosen for 31 classes
    # and 10,000 lines (the regularisation dominates), but the order must be clear.
    assert safe > plain + 0.2
    assert ids(model.predict("I am scared on my own at night")) == ["feeling_safe"]


def test_get_extractor_is_cached(monkeypatch, model):
    monkeypatch.setattr(ex, "ensure_model", lambda directory: (model, False))
    ex.reset_cache()
    try:
        assert ex.get_extractor() is ex.get_extractor() is model
    finally:
        ex.reset_cache()


def test_training_data_is_valid():
    files = ex.training_files()
    assert "train.yml" in [Path(f).name for f in files] and len(files) >= 7
    statements = ex.load_training_statements(files)
    assert len(statements) > 4000
    per_id = Counter(o for s in statements for o in s.outcomes)
    assert set(per_id) == set(OUTCOME_IDS)
    assert min(per_id.values()) >= 40, per_id.most_common()[-3:]
    assert sum(not s.outcomes for s in statements) >= 500  # negatives


#: Statements never trained on (tests/data): scored by the quality floors, kept out of training.
#: Every held-out file is named outcomes_*.yml, so a new one is covered without listing it here.
HELD_OUT = sorted(p.name for p in (Path(__file__).parent / "data").glob("outcomes_*.yml"))


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text.lower()))


def _close_pairs(
    queries: list[frozenset[str]], pool: list[frozenset[str]], least: float
) -> list[tuple[int, int]]:
    """Every (query, pool) index pair whose word sets' Jaccard similarity is at least
    ``least``: the intersections of all pairs at once, as a product of 0/1 matrices."""
    import scipy.sparse as sp

    vocabulary = {w: i for i, w in enumerate(sorted(set().union(*queries, *pool)))}

    def matrix(sets: list[frozenset[str]]) -> sp.csr_matrix:
        cols = [vocabulary[w] for words in sets for w in words]
        rows = [r for r, words in enumerate(sets) for _ in words]
        ones = np.ones(len(cols), dtype=np.float32)
        return sp.csr_matrix((ones, (rows, cols)), shape=(len(sets), len(vocabulary)))

    q, m = matrix(queries), matrix(pool)
    q_sizes, m_sizes = np.diff(q.indptr), np.diff(m.indptr)
    pairs = []
    for start in range(0, len(queries), 500):
        common = (q[start : start + 500] @ m.T).toarray().astype(np.int64)
        union = q_sizes[start : start + 500, None] + m_sizes[None, :] - common
        rows, cols = np.nonzero(common / union >= least)  # as Python's own division
        pairs.extend(zip((rows + start).tolist(), cols.tolist(), strict=True))
    return pairs


def test_close_pairs_is_jaccard_similarity():
    a, b, c = frozenset("abcde"), frozenset("abcdf"), frozenset("abcdefgh")
    assert _close_pairs([a], [a, b, c], 0.8) == [(0, 0)]  # b: 4/6, c: 5/8
    assert _close_pairs([a, b], [a, b, c], 0.65) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(_close_pairs([a, b], [a, b, c], 0.625)) == 6
    assert _close_pairs([frozenset("abcd")], [frozenset("abcde")], 0.8) == [(0, 0)]  # 4/5


def test_training_data_holds_no_held_out_statement():
    """The held-out sets only measure anything if no training line repeats or closely
    rewords one of them (same words in any order, or nearly so)."""
    training = {_words(s.text): s.text for s in ex.load_training_statements(ex.training_files())}
    data = Path(__file__).parent / "data"
    assert len(HELD_OUT) >= 7, HELD_OUT
    held = [
        (name, statement.text)
        for name in HELD_OUT
        for statement in load_statements(data / name)
        if len(_words(statement.text)) >= 4  # "thanks", "ok": short lines are bound to repeat
    ]
    assert len(held) > 2000
    seen = list(training)
    pairs = _close_pairs([_words(text) for _, text in held], seen, 0.8)
    clashes = [(*held[i], training[seen[j]]) for i, j in pairs]
    assert not clashes, clashes


def test_the_sentence_vectors_scale_is_folded_into_their_weights():
    """The regression is fitted on the vectors at EMBEDDING_SCALE; its weights score them as
    they are, and a class never seen in training gets no chance."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(80, 6)).astype(np.float32)
    ngrams = sp.random(80, 5, density=0.4, random_state=1, format="csr", dtype=np.float32)
    labels = rng.integers(0, 3, size=80)
    weights = rng.uniform(0.5, 1.0, size=80)
    coef, intercept = ex.fit_regression(vectors, ngrams, labels, weights, n_classes=4)
    fitted_on = np.hstack([vectors * ex.EMBEDDING_SCALE, ngrams.toarray()])
    reference = LogisticRegression(C=ex.C, max_iter=3000).fit(
        fitted_on, labels, sample_weight=weights
    )
    logits = np.hstack([vectors, ngrams.toarray()]) @ coef.T + intercept
    np.testing.assert_allclose(
        logits[:, :3], reference.decision_function(fitted_on), rtol=1e-3, atol=1e-3
    )
    assert ex.EMBEDDING_SCALE != 1.0  # otherwise this test shows nothing
    assert (logits[:, 3] < logits[:, :3].min(axis=1) - 100).all()


def test_ngram_scorer_matches_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.outcomes.ngrams import NgramScorer

    texts = ["I want to see my pals", "the carers are late again", "Pals! late, late again"]
    rng = np.random.default_rng(0)
    for params in (ex._WORD_PARAMS, ex._CHAR_PARAMS):
        vec = TfidfVectorizer(**{**params, "min_df": 1}).fit(texts)
        weights = rng.normal(size=(len(vec.vocabulary_), 3)).astype(np.float32)
        queries = [*texts, "something else entirely", "", "PALS"]
        expected = vec.transform(queries) @ weights
        got = NgramScorer.from_vectorizer(vec, weights).scores(queries)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        NgramScorer.from_vectorizer(TfidfVectorizer(sublinear_tf=False).fit(texts), weights)


def test_encoder_batches_by_length_without_changing_embeddings(model):
    from bot.outcomes.encoder import _batches

    assert _batches([5, 40, 6, 41, 5], batch_size=16) == [[0, 4, 2], [1, 3]]
    assert _batches([3] * 5, batch_size=2) == [[0, 1], [2, 3], [4]]
    texts = [
        "ok",
        "I never know when the carer is coming and it means I can't plan my day at all, "
        "so I sit by the window from seven waiting for the car to pull up outside.",
        "I'd like to see my pals more.",
    ]
    together = model.encoder.encode(texts)
    alone = np.vstack([model.encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
