"""Hear Talking Points outcomes in what a person says.

Model (chosen on held-out statements in ``tests/data``, see the module constants): one
multinomial logistic regression over the 30 outcome ids plus a "no outcome" class, on features
``[MiniLM sentence embedding ⊕ word 1-2-gram TF-IDF ⊕ char_wb 2-4-gram TF-IDF]``, the embedding
fitted at ``EMBEDDING_SCALE`` of its size so that its weights are regularised harder. The MiniLM
encoder is the one fine-tuned on the same statements (:mod:`bot.outcomes.tuned`;
``OUTCOME_ENCODER=stock`` keeps the pre-trained one). A statement labelled with two ids is
trained on as two rows of weight 1/2. At prediction time the softmax is renormalised over
the allowed ids (a role's set) plus "no outcome", then blended with a vote of the most similar
training statements (:mod:`bot.outcomes.neighbours`, weight ``NEIGHBOUR_WEIGHT``). Training
also sees two-part statements joined from the training lines (:mod:`bot.outcomes.augment`), as
the encoder's fine-tuning does.

Confidence scale: the raw softmax probability ``p`` is mapped piecewise-linearly so that the
decision point chosen on held-out statements (``meta.json``'s ``decision_point``) becomes 0.5,
so ``confidence >= 0.5`` (``OUTCOME_THRESHOLD``'s default) means "found". Raise the threshold
to be stricter, lower it to hear more.

Long text is split into sentences; the whole text and each sentence (first
``MAX_SENTENCES``) are scored and each id keeps its best score; ``quote`` is the sentence that
scored highest for the id (the whole text when it is one sentence).

The model is saved as ``model.npz`` (numbers only, with the training statements' vectors and
label shares for the neighbour vote), ``vocab.json``, the tuned encoder
(``encoder.onnx``) and a ``meta.json`` with a fingerprint of the training files, the encoder
and the feature settings: no pickle is read back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.outcomes import augment
from bot.outcomes.encoder import SentenceEncoder
from bot.outcomes.framework import OUTCOME_IDS
from bot.outcomes.neighbours import NeighbourVote, blend
from bot.outcomes.ngrams import NgramScorer

log = logging.getLogger(__name__)

#: Bump when features, model or training rules change: saved models become stale.
FEATURES_VERSION = "softmax-lr-minilm-word12-charwb24-twopart-knn-v5"
#: Where the labelled training statements live (every ``*.yml`` in it, sorted by name).
TRAINING_DIR = Path(__file__).resolve().parent.parent.parent / "nlu_data" / "outcomes"
#: Raw softmax probability that becomes confidence 0.5, and the regularisation of the
#: logistic regression (inverse strength); both chosen on ``tests/data/readings/majority.yml``
#: (which holds the dev set) and ``outcomes_indirect.yml``, with :data:`EMBEDDING_SCALE`.
DECISION_POINT = 0.22
C = 1.0
#: The sentence vectors enter the regression at this fraction of their size, which
#: regularises their weights 1/EMBEDDING_SCALE² times more strongly than the n-grams'. The
#: tuned encoder separates its own training lines far more cleanly than new ones, so at full
#: size the regression leans on it too hard and puts all its weight on one id. See README.
EMBEDDING_SCALE = 0.5
SEED = 13
#: The neighbour vote: how many training statements, how sharply their similarity weighs
#: (softmax temperature on cosine) and its share of the blend; chosen on
#: ``tests/data/readings/majority.yml`` (which holds the dev set), see README.
NEIGHBOURS = 20
NEIGHBOUR_TEMPERATURE = 0.05
NEIGHBOUR_WEIGHT = 0.2
#: At most this many sentences of one text are scored (the rest are ignored).
MAX_SENTENCES = 50
#: The whole text is scored on at most this many characters (sentences are scored anyway).
MAX_WHOLE_TEXT_CHARS = 2000
NONE_LABEL = "none"
#: A saved model keeps the tuned encoder it was fitted on under this name.
ENCODER_FILE = "encoder.onnx"

_WORD_PARAMS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}
_CHAR_PARAMS = {"analyzer": "char_wb", "ngram_range": (2, 4), "sublinear_tf": True, "min_df": 3}
#: Below this many statements (tests, tiny custom sets) every n-gram is kept (min_df 1).
_SMALL_TRAINING_SET = 200
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\s*[\r\n]+\s*")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class FoundOutcome:
    """One outcome heard in a statement: its id, a confidence in [0, 1] (0.5 = decision point)
    and the person's own words that carried it."""

    outcome_id: str
    confidence: float
    quote: str


@dataclass(frozen=True)
class TrainingStatement:
    text: str
    outcomes: tuple[str, ...]


def split_sentences(text: str, limit: int = MAX_SENTENCES) -> list[str]:
    """Split on sentence-ending punctuation and line breaks, dropping pieces with no word
    characters; at most ``limit`` sentences."""
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = piece.strip()
        if piece and _HAS_WORD.search(piece):
            pieces.append(piece)
            if len(pieces) >= limit:
                break
    return pieces


def training_files(directory: Path = TRAINING_DIR) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.yml") if p.is_file())


class TrainingDataError(ValueError):
    """The outcome training files cannot be trained on; the message says which and why."""


def load_training_statements(files: Iterable[Path]) -> list[TrainingStatement]:
    """Read ``statements: [{text, outcomes}]`` files, checked as evaluation files are: a file
    that is not such YAML, a statement with no text or an unknown id is a
    :class:`TrainingDataError` naming the file and line."""
    from bot.outcomes.evaluation import EvaluationDataError, parse_statements, read_yaml

    out: list[TrainingStatement] = []
    for path in files:
        try:
            data, lines = read_yaml(path)
            parse_statements(data, str(path), lines)
        except EvaluationDataError as exc:
            raise TrainingDataError(str(exc)) from None
        for item in data["statements"]:  # the ids in the order they were written
            out.append(TrainingStatement(item["text"], tuple(item.get("outcomes") or ())))
    return out


def _statements_from(files: Sequence[Path]) -> list[TrainingStatement]:
    """The statements of ``files``; having none is a :class:`TrainingDataError`."""
    if not files:
        raise TrainingDataError(f"no outcome training files in {TRAINING_DIR}")
    return load_training_statements(files)


def check_trainable(statements: Sequence[TrainingStatement]) -> None:
    """A :class:`TrainingDataError` unless the statements teach at least two things (an id
    and "no outcome", or two ids): a classifier cannot learn from one."""
    labels = {label for s in statements for label in label_shares(s.outcomes)}
    if len(labels) < 2:
        heard = f"only {sorted(labels)[0]!r}" if labels else "no statements"
        raise TrainingDataError(
            f"the outcome training data has {heard}: it needs at least two kinds of "
            "statement (an outcome id and no-outcome lines, or two ids)"
        )


def label_shares(outcomes: Sequence[str]) -> dict[str, float]:
    """How a statement is trained on: ``1/k`` on each of its ``k`` ids, or 1 on "no outcome".

    The extractor's regression and the encoder's fine-tuning both use it."""
    ids = list(dict.fromkeys(outcomes)) or [NONE_LABEL]
    return {oid: 1.0 / len(ids) for oid in ids}


def fingerprint(files: Sequence[Path], encoder_id: str | None = None) -> str:
    """sha256 over the training files, the feature settings, the sentence encoder
    (``encoder_id``, see :func:`encoder_choice`) and library versions."""
    import sklearn

    h = hashlib.sha256()
    settings = {
        "features_version": FEATURES_VERSION,
        "decision_point": DECISION_POINT,
        "C": C,
        "embedding_scale": EMBEDDING_SCALE,
        "seed": SEED,
        "word": _WORD_PARAMS,
        "char": _CHAR_PARAMS,
        "neighbours": _neighbour_settings(),
        "two_part": {"share": augment.SHARE, "seed": augment.SEED},
        "sklearn": sklearn.__version__,
        "outcome_ids": list(OUTCOME_IDS),
        "encoder": encoder_id or _stock_id(),
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    for path in files:
        h.update(Path(path).name.encode() + b"\0")
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def _neighbour_settings() -> dict:
    return {"k": NEIGHBOURS, "temperature": NEIGHBOUR_TEMPERATURE, "weight": NEIGHBOUR_WEIGHT}


def _stock_id() -> str:
    from bot.outcomes.tuned import stock_sha256

    return f"stock:{stock_sha256()}"


def encoder_choice(files: Sequence[Path]) -> tuple[Path | None, str]:
    """The encoder file a model trained on ``files`` uses (``None``: the stock one) and its id.

    ``OUTCOME_ENCODER=TUNED`` (the default) picks the encoder fine-tuned on ``files``
    (:mod:`bot.outcomes.tuned`; it may not be made yet), ``STOCK`` the pre-trained one.
    """
    from bot.outcomes import tuned
    from bot.settings import get_settings

    settings = get_settings()
    if settings.outcome_encoder == "STOCK" or not files:
        return None, _stock_id()
    path = tuned.encoder_path(files, settings.outcome_encoder_dir)
    return path, f"tuned:{tuned.fingerprint(files)}"


def _to_confidence(p: np.ndarray, point: float) -> np.ndarray:
    """Piecewise-linear map of probabilities so that ``point`` becomes 0.5."""
    p = np.clip(p, 0.0, 1.0)
    low = 0.5 * p / point
    high = 0.5 + 0.5 * (p - point) / (1.0 - point)
    return np.where(p < point, low, high)


class OutcomeExtractor:
    """Multi-label outcome classifier; build with :meth:`train` or :meth:`load`."""

    def __init__(
        self,
        word_vec,
        char_vec,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
        meta: dict,
        encoder=None,
        encoder_file: Path | None = None,
        neighbours: NeighbourVote | None = None,
    ) -> None:
        self._word = word_vec
        self._char = char_vec
        self._coef = np.asarray(coef, dtype=np.float32)  # (n_classes, n_features)
        self._intercept = np.asarray(intercept, dtype=np.float32)
        # Weights split per feature block, feature-major, so that scoring one message needs
        # no copy of the weight matrix and no sparse matrix (see ``ngrams.NgramScorer``).
        n_word, n_char = len(word_vec.vocabulary_), len(char_vec.vocabulary_)
        n_emb = self._coef.shape[1] - n_word - n_char
        self._w_emb = np.ascontiguousarray(self._coef[:, :n_emb].T)
        self._word_scorer = NgramScorer.from_vectorizer(
            word_vec, self._coef[:, n_emb : n_emb + n_word].T
        )
        self._char_scorer = NgramScorer.from_vectorizer(char_vec, self._coef[:, n_emb + n_word :].T)
        self.classes = tuple(classes)
        self.meta = dict(meta)
        self.decision_point = float(meta.get("decision_point", DECISION_POINT))
        self._encoder = encoder
        #: The ONNX file of the sentence encoder the weights were fitted on (None: stock).
        self.encoder_file = Path(encoder_file) if encoder_file else None
        self._col = {c: i for i, c in enumerate(self.classes)}
        self._neighbours = neighbours
        self.neighbour_weight = float(meta.get("neighbours", {}).get("weight", 0.0))

    # ----------------------------------------------------------------- training
    @classmethod
    def train(
        cls,
        files: Sequence[Path] | None = None,
        encoder=None,
        statements: Sequence[TrainingStatement] | None = None,
        encoder_file: Path | None = None,
        encoder_id: str | None = None,
    ) -> OutcomeExtractor:
        """Fit on the training files (default: every ``nlu_data/outcomes/*.yml``).

        The sentence encoder is ``encoder``, else the one in ``encoder_file`` (a tuned
        encoder), else the stock one; ``encoder_id`` names it in the fingerprint.
        """
        import sklearn
        from sklearn.feature_extraction.text import TfidfVectorizer

        started = time.perf_counter()
        files = list(files) if files is not None else training_files()
        real = list(statements) if statements is not None else _statements_from(files)
        check_trainable(real)
        statements = real + augment.two_part_statements(real)
        order = list(range(len(statements)))
        random.Random(SEED).shuffle(order)
        statements = [statements[i] for i in order]
        is_real = np.array([i < len(real) for i in order])
        encoder = encoder or _encoder_for(encoder_file)
        texts = [s.text for s in statements]
        embeddings = encoder.encode(texts)
        small = {"min_df": 1} if len(texts) < _SMALL_TRAINING_SET else {}
        word = TfidfVectorizer(**{**_WORD_PARAMS, **small})
        char = TfidfVectorizer(**{**_CHAR_PARAMS, **small})
        ngrams = _stack(word.fit_transform(texts), char.fit_transform(texts))

        classes = (*OUTCOME_IDS, NONE_LABEL)
        index = {c: i for i, c in enumerate(classes)}
        rows, labels, weights = [], [], []
        for i, s in enumerate(statements):
            for label, share in label_shares(s.outcomes).items():
                rows.append(i)
                labels.append(index[label])
                weights.append(share)
        coef, intercept = fit_regression(
            embeddings[rows], ngrams[rows], labels, weights, len(classes)
        )
        shares = np.zeros((len(statements), len(classes)), dtype=np.float32)
        shares[rows, labels] = weights  # the regression's rows, one line of shares a statement
        neighbours = NeighbourVote(
            embeddings[is_real], shares[is_real], NEIGHBOURS, NEIGHBOUR_TEMPERATURE
        )
        meta = {
            "fingerprint": fingerprint(files, encoder_id) if files else None,
            "features_version": FEATURES_VERSION,
            "encoder": encoder_id or _stock_id(),
            "decision_point": DECISION_POINT,
            "neighbours": _neighbour_settings(),
            "training_files": [Path(f).name for f in files],
            "n_statements": len(real),
            "n_two_part": len(statements) - len(real),
            "sklearn": sklearn.__version__,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }
        log.info(
            "Trained outcome extractor on %d statements in %.1f s",
            len(real),
            meta["train_seconds"],
        )
        return cls(word, char, coef, intercept, classes, meta, encoder, encoder_file, neighbours)

    # ----------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``model.npz``, ``vocab.json``, the tuned encoder (``encoder.onnx``, when the
        model has one) and (last) ``meta.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = f".tmp-{os.getpid()}-{threading.get_ident()}"
        own_encoder = directory / ENCODER_FILE
        if self.encoder_file and self.encoder_file.resolve() != own_encoder.resolve():
            shutil.copyfile(self.encoder_file, directory / f"encoder{tmp}.onnx")
            os.replace(directory / f"encoder{tmp}.onnx", own_encoder)
        elif not self.encoder_file:
            own_encoder.unlink(missing_ok=True)
        npz = directory / f"model{tmp}.npz"
        with open(npz, "wb") as f:
            np.savez_compressed(
                f,
                coef=self._coef,
                intercept=self._intercept,
                word_idf=self._word.idf_.astype(np.float64),
                char_idf=self._char.idf_.astype(np.float64),
                **self._neighbour_arrays(),
            )
        vocab = directory / f"vocab{tmp}.json"
        vocab.write_text(
            json.dumps(
                {
                    "classes": list(self.classes),
                    "word": {k: int(v) for k, v in self._word.vocabulary_.items()},
                    "char": {k: int(v) for k, v in self._char.vocabulary_.items()},
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        meta = directory / f"meta{tmp}.json"
        meta.write_text(json.dumps(self.meta, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(npz, directory / "model.npz")
        os.replace(vocab, directory / "vocab.json")
        os.replace(meta, directory / "meta.json")
        log.info("Saved outcome extractor to %s", directory)
        return directory

    def _neighbour_arrays(self) -> dict[str, np.ndarray]:
        if self._neighbours is None:
            return {}
        return {
            "neighbour_vectors": self._neighbours.vectors,
            "neighbour_shares": self._neighbours.shares,
        }

    @classmethod
    def load(cls, directory: str | Path, encoder=None) -> OutcomeExtractor:
        from sklearn.feature_extraction.text import TfidfVectorizer

        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        with np.load(directory / "model.npz", allow_pickle=False) as arrays:
            coef, intercept = arrays["coef"], arrays["intercept"]
            word_idf, char_idf = arrays["word_idf"], arrays["char_idf"]
            neighbours = None
            if "neighbour_vectors" in arrays:
                settings = meta.get("neighbours", {})
                neighbours = NeighbourVote(
                    arrays["neighbour_vectors"],
                    arrays["neighbour_shares"],
                    settings.get("k", NEIGHBOURS),
                    settings.get("temperature", NEIGHBOUR_TEMPERATURE),
                )
        word = TfidfVectorizer(**_WORD_PARAMS)
        word.vocabulary_ = vocab["word"]
        word.idf_ = word_idf
        char = TfidfVectorizer(**_CHAR_PARAMS)
        char.vocabulary_ = vocab["char"]
        char.idf_ = char_idf
        encoder_file = directory / ENCODER_FILE
        encoder_file = encoder_file if encoder_file.is_file() else None
        if str(meta.get("encoder", "")).startswith("tuned:") and encoder_file is None:
            raise ValueError(f"{directory} was trained on a tuned encoder it does not hold")
        log.info("Loaded outcome extractor from %s", directory)
        return cls(
            word, char, coef, intercept, vocab["classes"], meta, encoder, encoder_file, neighbours
        )

    # ----------------------------------------------------------------- prediction
    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = _encoder_for(self.encoder_file)
        return self._encoder

    def score(
        self, text: str, allowed_ids: Iterable[str] | None = None
    ) -> dict[str, tuple[float, str]]:
        """Confidence and quote for every allowed id (empty for text with no words)."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        allowed = self._allowed(allowed_ids)
        sentences = split_sentences(text)
        if not sentences or not allowed:
            return {}
        whole = text.strip()
        pieces = sentences if len(sentences) > 1 else []
        units = [whole[:MAX_WHOLE_TEXT_CHARS], *pieces]
        probs = self._probabilities(units, allowed)  # (len(units), len(allowed))
        conf = _to_confidence(probs, self.decision_point)
        result: dict[str, tuple[float, str]] = {}
        for j, oid in enumerate(allowed):
            best = float(conf[:, j].max())
            quote = pieces[int(conf[1:, j].argmax())] if pieces else whole
            result[oid] = (best, quote)
        return result

    def predict(
        self,
        text: str,
        allowed_ids: Iterable[str] | None = None,
        threshold: float | None = None,
    ) -> list[FoundOutcome]:
        """Outcomes heard in ``text`` with confidence >= ``threshold``, most confident first.

        ``threshold`` defaults to ``OUTCOME_THRESHOLD`` (0.5 = the dev-chosen decision point).
        ``allowed_ids`` restricts the ids considered (e.g. ``ids_for_role(role)``).
        """
        if threshold is None:
            threshold = _settings_threshold()
        return above_threshold(self.score(text, allowed_ids), threshold)

    def _allowed(self, allowed_ids: Iterable[str] | None) -> list[str]:
        if allowed_ids is None:
            return list(OUTCOME_IDS)
        wanted = set(allowed_ids)
        unknown = wanted - set(OUTCOME_IDS)
        if unknown:
            raise ValueError(f"unknown outcome id(s): {sorted(unknown)}")
        return [oid for oid in OUTCOME_IDS if oid in wanted]

    def _probabilities(self, texts: list[str], allowed: list[str]) -> np.ndarray:
        vectors = self.encoder.encode(texts)
        logits = (
            vectors @ self._w_emb
            + self._word_scorer.scores(texts)
            + self._char_scorer.scores(texts)
            + self._intercept
        )
        cols = [self._col[oid] for oid in allowed] + [self._col[NONE_LABEL]]
        logits = logits[:, cols]
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs = exp / exp.sum(axis=1, keepdims=True)
        if self._neighbours is not None and self.neighbour_weight > 0:
            probs = blend(probs, self._neighbours.vote(vectors, cols), self.neighbour_weight)
        return probs[:, :-1]


def above_threshold(scores: dict[str, tuple[float, str]], threshold: float) -> list[FoundOutcome]:
    """The scored outcomes with confidence >= ``threshold``, most confident first."""
    found = [
        FoundOutcome(oid, round(conf, 4), quote)
        for oid, (conf, quote) in scores.items()
        if conf >= threshold
    ]
    found.sort(key=lambda f: (-f.confidence, OUTCOME_IDS.index(f.outcome_id)))
    return found


def _softmax_rows(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row of weights per class seen, scored with a softmax.

    With two classes scikit-learn keeps a single row ``w`` for the second; the softmax of
    ``(-w/2, w/2)`` is the same sigmoid, so both classes get a row.
    """
    if coef.shape[0] == 1:
        return np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def fit_regression(
    embeddings: np.ndarray,
    ngrams,
    labels: Sequence[int],
    weights: Sequence[float],
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression weights over ``[embeddings ⊕ ngrams]`` (one row per class label
    ``0..n_classes-1``; a class never seen gets a very low intercept).

    The sentence vectors are fitted at :data:`EMBEDDING_SCALE` times their size and that
    scale is folded back into their weights, so the weights apply to the vectors as they are.
    """
    from sklearn.linear_model import LogisticRegression

    features = _stack(embeddings * EMBEDDING_SCALE, ngrams)
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(features, labels, sample_weight=weights)
    # LogisticRegression only keeps the classes it saw; put rows in class order.
    coef = np.zeros((n_classes, features.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -1e4, dtype=np.float32)
    seen_coef, seen_intercept = _softmax_rows(model.coef_, model.intercept_)
    for row, label in enumerate(model.classes_):
        coef[label] = seen_coef[row]
        intercept[label] = seen_intercept[row]
    coef[:, : embeddings.shape[1]] *= EMBEDDING_SCALE
    return coef, intercept


def _stack(*parts):
    import scipy.sparse as sp

    return sp.hstack([sp.csr_matrix(p) for p in parts], format="csr")


def _encoder_for(encoder_file: Path | None):
    """The encoder running ``encoder_file``, or the process-wide stock one for ``None``."""
    if encoder_file:
        return SentenceEncoder(model_path=encoder_file)
    from bot.outcomes.encoder import get_encoder

    return get_encoder()


def _settings_threshold() -> float:
    from bot.settings import get_settings

    return get_settings().outcome_threshold


# --------------------------------------------------------------------- cached instance
_cached: OutcomeExtractor | None = None
_cached_dir: Path | None = None
_lock = threading.Lock()


def is_stale(directory: str | Path, files: Sequence[Path] | None = None) -> bool:
    """True when there is no usable saved model in ``directory`` for the current training files."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not (directory / "model.npz").is_file() or not (directory / "vocab.json").is_file():
        return True
    files = training_files() if files is None else list(files)
    if not files:  # nothing to train from (e.g. an installed package): use what is there
        return False
    encoder_file, encoder_id = encoder_choice(files)
    if encoder_file is not None and not (directory / ENCODER_FILE).is_file():
        return True
    return meta.get("fingerprint") != fingerprint(files, encoder_id)


def ensure_model(
    directory: str | Path, force: bool = False, files: Sequence[Path] | None = None
) -> tuple[OutcomeExtractor, bool]:
    """Load the model in ``directory``, training and saving it first if missing, stale or
    ``force``; returns ``(extractor, trained)``."""
    directory = Path(directory)
    files = training_files() if files is None else list(files)
    if force or is_stale(directory, files):
        log.info("Outcome model in %s is missing or stale: training", directory)
        return _train_and_replace(files, directory), True
    try:
        return OutcomeExtractor.load(directory), False
    except (OSError, ValueError, KeyError) as exc:
        log.warning("Could not load outcome model from %s (%s): retraining", directory, exc)
        return _train_and_replace(files, directory), True


def _train_and_replace(files: Sequence[Path], directory: Path) -> OutcomeExtractor:
    """Train on ``files`` (tuning the encoder first if it is not kept yet) and save."""
    statements = _statements_from(files)
    check_trainable(statements)  # before minutes of fine-tuning
    encoder_file, encoder_id = encoder_choice(files)
    if encoder_file is not None:
        from bot.outcomes.tuned import ensure_tuned_encoder

        encoder_file = ensure_tuned_encoder(files)
    extractor = OutcomeExtractor.train(
        files, statements=statements, encoder_file=encoder_file, encoder_id=encoder_id
    )
    _replace_dir(extractor, directory)
    if encoder_file is not None:  # the model's own copy outlives the encoder cache
        extractor.encoder_file = directory / ENCODER_FILE
    return extractor


def _replace_dir(extractor: OutcomeExtractor, directory: Path) -> None:
    """Save into a sibling temp dir, then swap it in, so readers never see half a model."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f"{directory.name}.tmp-{os.getpid()}")
    old = directory.with_name(f"{directory.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    extractor.save(tmp)
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def get_extractor() -> OutcomeExtractor:
    """The process-wide extractor from ``settings.outcome_model_dir`` (trained if missing/stale)."""
    global _cached, _cached_dir
    from bot.settings import get_settings

    directory = Path(get_settings().outcome_model_dir)
    with _lock:
        if _cached is None or _cached_dir != directory:
            _cached, _ = ensure_model(directory)
            _cached_dir = directory
        return _cached


def reset_cache() -> None:
    """Forget the cached extractor (tests, or after retraining in-process)."""
    global _cached, _cached_dir
    with _lock:
        _cached = None
        _cached_dir = None
