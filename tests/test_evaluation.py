"""Metric functions on hand-made cases, file validation and the evaluate command."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.outcomes import evaluation as ev
from bot.outcomes.extractor import ensure_model
from bot.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
F = frozenset


def test_perfect_predictions():
    gold = [F({"feeling_safe"}), F(), F({"carer_financial", "carer_choice"})]
    m = ev.compute_metrics(gold, gold)
    assert m["micro_f1"] == m["macro_f1"] == m["group_accuracy"] == m["none_accuracy"] == 1.0
    assert m["n"] == 3
    assert m["per_outcome"]["carer_choice"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 1,
    }


def test_hand_computed_metrics():
    gold = [F({"feeling_safe"}), F({"listened_to", "having_a_say"}), F(), F(), F({"reliability"})]
    pred = [F({"feeling_safe"}), F({"listened_to"}), F({"seeing_people"}), F(), F({"responded_to"})]
    m = ev.compute_metrics(gold, pred)
    # tp=2 (feeling_safe, listened_to), fp=2 (seeing_people, responded_to), fn=2
    assert m["micro_f1"] == pytest.approx(0.5)
    # ids seen: feeling_safe 1, listened_to 1, having_a_say 0, seeing_people 0,
    # responded_to 0, reliability 0 -> 2/6
    assert m["macro_f1"] == pytest.approx(2 / 6, abs=1e-4)
    # groups: {quality_of_life} ok; {process} == {process} ok; {process} == {process} ok
    assert m["group_accuracy"] == 1.0
    assert m["none_accuracy"] == 0.5
    assert m["per_outcome"]["having_a_say"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    assert m["per_outcome"]["seeing_people"]["support"] == 0
    assert "staying_well" not in m["per_outcome"]


def test_group_accuracy_needs_exact_group_set():
    gold = [F({"feeling_safe"}), F({"feeling_safe"}), F({"feeling_safe"})]
    pred = [F({"seeing_people"}), F({"feeling_safe", "reliability"}), F()]
    assert ev.compute_metrics(gold, pred)["group_accuracy"] == pytest.approx(1 / 3, abs=1e-4)


def test_none_accuracy_is_null_without_no_outcome_lines():
    m = ev.compute_metrics([F({"feeling_safe"})], [F()])
    assert m["none_accuracy"] is None and m["micro_f1"] == 0.0 and m["group_accuracy"] == 0.0


def test_confusion_pairs():
    gold = [F({"feeling_safe"}), F(), F({"reliability"}), F({"listened_to"})]
    pred = [
        F({"dealing_with_stigma"}),
        F({"seeing_people"}),
        F(),
        F({"listened_to", "having_a_say"}),
    ]
    pairs = ev.confusion_pairs(gold, pred)
    assert pairs == {
        ("feeling_safe", "dealing_with_stigma"): 1,
        ("none", "seeing_people"): 1,
        ("reliability", "none"): 1,
        ("none", "having_a_say"): 1,
    }


def test_sweep_and_predictions_at():
    scores = [{"feeling_safe": 0.9, "seeing_people": 0.4}, {"feeling_safe": 0.2}]
    assert ev.predictions_at(scores, 0.5) == [F({"feeling_safe"}), F()]
    gold = [F({"feeling_safe"}), F()]
    assert ev.sweep(gold, scores, [0.1, 0.5]) == [(0.1, 0.5), (0.5, 1.0)]


def test_parse_statements_validates():
    data = {"statements": [{"text": "hi", "outcomes": [], "role": "carer", "extra": 1}]}
    assert ev.parse_statements(data) == [ev.LabelledStatement("hi", F(), "carer", None)]
    with pytest.raises(ev.EvaluationDataError, match="'not_an_id'.*'I feel unsafe'"):
        ev.parse_statements({"statements": [{"text": "I feel unsafe", "outcomes": ["not_an_id"]}]})
    with pytest.raises(ev.EvaluationDataError, match="unknown role"):
        ev.parse_statements({"statements": [{"text": "x", "outcomes": [], "role": "boss"}]})
    with pytest.raises(ev.EvaluationDataError, match="statements"):
        ev.parse_statements({"nlu": []})
    with pytest.raises(ev.EvaluationDataError, match="text"):
        ev.parse_statements({"statements": [{"outcomes": []}]})
    with pytest.raises(ev.EvaluationDataError, match="no statements"):
        ev.parse_statements({"statements": []})


def test_load_statements_errors(tmp_path):
    with pytest.raises(ev.EvaluationDataError, match="no such file"):
        ev.load_statements(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("statements: [\n  {text: 'unclosed\n")
    with pytest.raises(ev.EvaluationDataError, match="not valid YAML"):
        ev.load_statements(bad)
    unknown = tmp_path / "unknown.yml"
    unknown.write_text(
        'statements:\n  - {text: "fine", outcomes: []}\n'
        '  - {text: "I feel unsafe", outcomes: [feeling_safe, feelin_safe]}\n'
    )
    with pytest.raises(
        ev.EvaluationDataError, match=r"unknown.yml:3: unknown outcome id 'feelin_safe'"
    ):
        ev.load_statements(unknown)


def test_shipped_label_files_are_valid():
    for name in ["outcomes_dev.yml", "outcomes_unseen.yml"]:
        assert ev.load_statements(ROOT / "tests" / "data" / name)
    unseen = ev.load_statements(ROOT / "tests" / "data" / "outcomes_unseen.yml")
    assert len(unseen) == 40
    assert sum(not s.outcomes for s in unseen) >= 8
    assert sum(len(s.outcomes) == 2 for s in unseen) >= 4


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "evaluate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_exits_2_on_unknown_id(tmp_path):
    f = tmp_path / "bad.yml"
    f.write_text('statements:\n  - {text: "I like my garden", outcomes: [gardening]}\n')
    result = _cli(str(f))
    assert result.returncode == 2
    assert "gardening" in result.stderr and "I like my garden" in result.stderr
    missing = _cli(str(tmp_path / "nope.yml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_cli_end_to_end(tmp_path):
    ensure_model(get_settings().outcome_model_dir)  # train once if needed, outside the CLI
    f = tmp_path / "small.yml"
    f.write_text(
        "statements:\n"
        '  - {text: "I want to learn to cook for myself.", outcomes: [improved_skills],'
        " role: person}\n"
        '  - {text: "ok", outcomes: []}\n'
        '  - {text: "I am exhausted from caring.", outcomes: [carer_health_wellbeing],'
        " role: carer}\n"
    )
    result = _cli(str(f))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n"] == 3
    for key in [
        "micro_f1",
        "macro_f1",
        "group_accuracy",
        "none_accuracy",
        "per_outcome",
        "median_ms_per_statement",
    ]:
        assert key in metrics
    assert metrics["none_accuracy"] == 1.0
    assert metrics["micro_f1"] > 0.5


def _evaluate(path: Path, model_dir: Path) -> int:
    parser = argparse.ArgumentParser()
    ev.add_arguments(parser)
    return ev.run(parser.parse_args([str(path), "--model-dir", str(model_dir)]))


def test_a_model_asked_for_by_its_folder_is_scored_as_it_is(tmp_path, capsys):
    from bot.outcomes.extractor import OutcomeExtractor

    data = tmp_path / "tiny.yml"
    data.write_text(
        "statements:\n"
        '  - {text: "I am scared on my own at night", outcomes: [feeling_safe]}\n'
        '  - {text: "I feel unsafe since the break-in", outcomes: [feeling_safe]}\n'
        '  - {text: "thanks", outcomes: []}\n'
    )
    model_dir = tmp_path / "model"
    OutcomeExtractor.train([data]).save(model_dir)
    saved = (model_dir / "meta.json").read_text()

    assert _evaluate(data, model_dir) == 0
    out, err = capsys.readouterr()
    assert "trained on other data" in err  # not nlu_data/outcomes: a warning, no retraining
    assert json.loads(out.strip().splitlines()[-1])["n"] == 3
    assert (model_dir / "meta.json").read_text() == saved

    assert _evaluate(data, tmp_path / "nothing") == 2
    assert "holds no outcome model" in capsys.readouterr().err
    (model_dir / "model.npz").write_bytes(b"garbage")
    assert _evaluate(data, model_dir) == 2
    assert "cannot be loaded" in capsys.readouterr().err
    assert (model_dir / "meta.json").read_text() == saved
