"""Fine-tuning the sentence encoder: the real fine-tuning environment (.venv-finetune) on a
tiny data set, the file it makes run by the assistant's onnxruntime encoder, and the cache."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bot.outcomes import extractor as ex
from bot.outcomes import tuned
from bot.outcomes.encoder import SentenceEncoder
from bot.settings import get_settings

TINY = """statements:
  - {text: "I am scared of being on my own at night", outcomes: [feeling_safe]}
  - {text: "Someone tried to break in and I feel unsafe", outcomes: [feeling_safe]}
  - {text: "I'd love to get to the football again", outcomes: [having_things_to_do]}
  - {text: "I'm bored with nothing to do all day", outcomes: [having_things_to_do]}
  - {text: "My pals never come round now", outcomes: [seeing_people, having_things_to_do]}
  - {text: "thanks", outcomes: []}
"""
TEXTS = ["I'm frightened when the door goes at night", "Nothing to do all week", "ok"]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yml"
    path.write_text(TINY)
    return path


def test_fine_tuning_makes_an_encoder_the_assistant_runs(encoder_dir, tiny):
    path = tuned.ensure_tuned_encoder([tiny])
    assert path == tuned.encoder_path([tiny], encoder_dir) and path.is_file()
    meta = json.loads((path.parent / "meta.json").read_text())
    assert meta["fingerprint"] == tuned.fingerprint([tiny])
    assert meta["training_files"] == ["tiny.yml"]

    vectors = SentenceEncoder(model_path=path).encode(TEXTS)
    stock = SentenceEncoder().encode(TEXTS)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * stock, axis=1)
    # tuned, so not the stock vectors, but still the same model family (not noise)
    assert cosines.min() < 0.999 and cosines.min() > 0.3

    # kept: the same data does not train again
    mtime = path.stat().st_mtime_ns
    assert tuned.ensure_tuned_encoder([tiny]) == path
    assert path.stat().st_mtime_ns == mtime


def test_changed_data_tunes_a_new_encoder_and_old_ones_are_pruned(encoder_dir, tiny):
    paths = []
    for n in range(tuned.KEEP + 1):
        tiny.write_text(TINY + f'  - {{text: "line {n} about my garden", outcomes: []}}\n')
        paths.append(tuned.ensure_tuned_encoder([tiny]))
    assert len(set(paths)) == len(paths)
    kept = sorted(p for p in encoder_dir.iterdir() if p.is_dir())
    assert len(kept) == tuned.KEEP
    assert not paths[0].exists() and paths[-1].exists()


def test_extractor_trained_on_a_tuned_encoder_keeps_its_own_copy(encoder_dir, tiny, tmp_path):
    model_dir = tmp_path / "model"
    model, trained = ex.ensure_model(model_dir, files=[tiny])
    assert trained and model.meta["encoder"].startswith("tuned:")
    assert (model_dir / ex.ENCODER_FILE).is_file()
    # the model still loads and predicts the same after the encoder cache is gone
    for child in encoder_dir.iterdir():
        if child.is_dir():
            for f in child.iterdir():
                f.unlink()
            child.rmdir()
    loaded, trained = ex.ensure_model(model_dir, files=[tiny])
    assert not trained
    assert loaded.predict("I'm scared at night") == model.predict("I'm scared at night")
    # losing its encoder makes the model stale rather than silently wrong
    (model_dir / ex.ENCODER_FILE).unlink()
    assert ex.is_stale(model_dir, [tiny])


def test_stock_encoder_setting_needs_no_fine_tuning(monkeypatch, tiny, tmp_path):
    monkeypatch.setenv("OUTCOME_ENCODER", "stock")
    monkeypatch.setenv("OUTCOME_FINETUNE_PYTHON", str(tmp_path / "no-such-python"))
    get_settings.cache_clear()
    try:
        model, trained = ex.ensure_model(tmp_path / "model", files=[tiny])
        assert trained and model.meta["encoder"].startswith("stock:")
        assert not (tmp_path / "model" / ex.ENCODER_FILE).exists()
    finally:
        get_settings.cache_clear()


def test_missing_fine_tuning_environment_is_a_clear_error(encoder_dir, tiny, tmp_path):
    with pytest.raises(tuned.TuningError, match="make install"):
        tuned.ensure_tuned_encoder([tiny], python=tmp_path / "no-such-python")
    assert not tuned.encoder_path([tiny], encoder_dir).exists()


def test_failed_fine_tuning_says_why_and_leaves_nothing(encoder_dir, tiny, tmp_path):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'out of memory while tuning' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(tuned.TuningError, match="exit code 3") as caught:
        tuned.ensure_tuned_encoder([tiny], python=broken)
    assert "out of memory while tuning" in str(caught.value)
    assert not tuned.encoder_path([tiny], encoder_dir).parent.exists()


_TARGETS_SCRIPT = """
import json, sys
from bot.outcomes.extractor import load_training_statements
from bot.outcomes.finetune.train import targets
classes = ["feeling_safe", "having_things_to_do", "seeing_people", "none"]
print(json.dumps(targets(load_training_statements([sys.argv[1]]), classes).tolist()))
"""


def test_fine_tuning_targets_share_two_ids_and_mark_no_outcome(tiny):
    """The training targets, computed in the fine-tuning environment (PyTorch)."""
    done = subprocess.run(
        [str(get_settings().outcome_finetune_python), "-c", _TARGETS_SCRIPT, str(tiny)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    target = np.array(json.loads(done.stdout))
    assert target.shape == (6, 4)
    np.testing.assert_allclose(target.sum(axis=1), 1.0)
    np.testing.assert_allclose(target[0], [1, 0, 0, 0])  # one id
    np.testing.assert_allclose(target[4], [0, 0.5, 0.5, 0])  # two ids: half each
    np.testing.assert_allclose(target[5], [0, 0, 0, 1])  # no outcome


def test_fingerprint_follows_data_and_settings(tiny, monkeypatch):
    first = tuned.fingerprint([tiny])
    assert tuned.fingerprint([tiny]) == first
    monkeypatch.setitem(tuned.SETTINGS, "epochs", tuned.SETTINGS["epochs"] + 1)
    assert tuned.fingerprint([tiny]) != first
    monkeypatch.undo()
    tiny.write_text(TINY.replace("football", "bowling"))
    assert tuned.fingerprint([tiny]) != first


def test_train_command_says_what_is_missing_without_a_traceback(
    encoder_dir, tmp_path, monkeypatch, capsys
):
    from bot.cli import main

    monkeypatch.setenv("OUTCOME_FINETUNE_PYTHON", str(tmp_path / "no-such-python"))
    get_settings.cache_clear()
    assert main(["train-outcomes", "--model-dir", str(tmp_path / "model")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The fine-tuning environment is missing") and "make install" in err
    assert not (tmp_path / "model").exists()
    monkeypatch.setenv("OUTCOME_ENCODER", "bogus")
    get_settings.cache_clear()
    assert main(["train-outcomes"]) == 2
    assert "OUTCOME_ENCODER must be one of" in capsys.readouterr().err


def test_untrainable_data_is_a_clear_error_before_any_fine_tuning(
    encoder_dir, tmp_path, monkeypatch, capsys
):
    """One kind of statement, or an unknown id: a one-line error naming the problem, found
    before minutes of fine-tuning (here the fine-tuning environment is missing, so reaching
    it would be a different error)."""
    from bot.cli import main

    monkeypatch.setenv("OUTCOME_FINETUNE_PYTHON", str(tmp_path / "no-such-python"))
    get_settings.cache_clear()
    only_small_talk = tmp_path / "small_talk.yml"
    only_small_talk.write_text('statements:\n  - {text: "ok"}\n  - {text: "ta", outcomes: []}\n')
    with pytest.raises(ex.TrainingDataError, match="only 'none'.*at least two kinds"):
        ex.ensure_model(tmp_path / "model", files=[only_small_talk])
    with pytest.raises(ex.TrainingDataError, match="only 'feeling_safe'"):
        ex.OutcomeExtractor.train(
            statements=[ex.TrainingStatement("scared at night", ("feeling_safe",))]
        )

    unknown = tmp_path / "unknown.yml"
    unknown.write_text(TINY + '  - {text: "I want to fly", outcomes: [flying]}\n')
    monkeypatch.setattr(ex, "training_files", lambda: [unknown])
    assert main(["train-outcomes", "--model-dir", str(tmp_path / "model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {unknown}:8: unknown outcome id 'flying'"), err
    assert not (tmp_path / "model").exists() and not encoder_dir.exists()
