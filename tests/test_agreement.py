"""``python -m bot agreement``: readers' agreement, the majority reading, and the readings data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from bot.outcomes.agreement import check_aligned, dump_reading, majority, pairwise, run
from bot.outcomes.evaluation import (
    EvaluationDataError,
    LabelledStatement,
    load_statements,
    parse_statements,
)

DATA = Path(__file__).parent / "data"
READINGS = DATA / "readings"
READERS = ["writers.yml", "reader_c.yml", "reader_d.yml"]


def _statement(text: str, *ids: str, role: str | None = "person") -> LabelledStatement:
    return LabelledStatement(text, frozenset(ids), role)


def test_majority_keeps_an_id_given_by_more_than_half_of_the_readers():
    a = [frozenset({"feeling_safe", "seeing_people"}), frozenset()]
    b = [frozenset({"feeling_safe"}), frozenset({"reliability"})]
    c = [frozenset({"seeing_people", "staying_well"}), frozenset()]
    assert majority([a, b, c]) == [frozenset({"feeling_safe", "seeing_people"}), frozenset()]
    # with two readers, both must agree
    assert majority([a, b]) == [frozenset({"feeling_safe"}), frozenset()]
    assert majority([]) == []


def test_pairwise_scores_every_pair_with_the_first_as_reference():
    same = [frozenset({"reliability"}), frozenset()]
    other = [frozenset({"responded_to"}), frozenset({"reliability"})]
    rows = pairwise([same, same, other], ["a", "b", "c"])
    assert [(r, o) for r, o, _ in rows] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert rows[0][2]["micro_f1"] == 1.0 and rows[0][2]["none_accuracy"] == 1.0
    assert rows[1][2]["micro_f1"] == 0.0 and rows[1][2]["none_accuracy"] == 0.0


@pytest.mark.parametrize(
    "other",
    [
        [_statement("one")],
        [_statement("one"), _statement("three")],
        [_statement("one"), _statement("two", role="carer")],
    ],
    ids=["shorter", "other text", "other role"],
)
def test_readings_that_do_not_label_the_same_statements_are_refused(other):
    first = [_statement("one"), _statement("two")]
    with pytest.raises(EvaluationDataError):
        check_aligned([first, other], ["first", "other"])


def test_a_dumped_reading_reads_back_the_same():
    statements = [
        _statement('She said "not today" again 🙄', "listened_to", "reliability"),
        _statement("Och, aye: fine\\ no bother", role=None),
        _statement("ça va", "carer_choice", role="carer"),
    ]
    text = dump_reading(statements, [s.outcomes for s in statements])
    assert parse_statements(yaml.safe_load(text)) == statements


def _args(
    *files: Path, majority_out: Path | None = None, with_model: bool = False
) -> argparse.Namespace:
    return argparse.Namespace(
        files=list(files), with_model=with_model, majority=majority_out, model_dir=None
    )


def test_the_command_prints_each_pair_and_writes_the_majority(tmp_path, capsys):
    a, b, c = (tmp_path / f"{n}.yml" for n in "abc")
    a.write_text("statements:\n  - {text: hi, outcomes: [], role: person}\n")
    b.write_text("statements:\n  - {text: hi, outcomes: [feeling_safe], role: person}\n")
    c.write_text("statements:\n  - {text: hi, outcomes: [feeling_safe], role: person}\n")
    out = tmp_path / "majority.yml"
    assert run(_args(a, b, c, majority_out=out)) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in printed[2:]] == [["a", "b"], ["a", "c"], ["b", "c"]]
    assert load_statements(out)[0].outcomes == {"feeling_safe"}


def test_the_command_refuses_misaligned_files_and_a_single_file(tmp_path, capsys):
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text("statements:\n  - {text: hi, outcomes: []}\n")
    b.write_text("statements:\n  - {text: bye, outcomes: []}\n")
    assert run(_args(a, b)) == 2
    assert run(_args(a)) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)


def test_the_model_reads_as_one_more_reader(tmp_path, capsys):
    a = tmp_path / "a.yml"
    a.write_text(
        "statements:\n"
        "  - {text: the carers turn up at different times every day, outcomes: [reliability],"
        " role: person}\n"
        "  - {text: thanks, outcomes: [], role: person}\n"
    )
    assert run(_args(a, with_model=True)) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["a", "model"]
    assert row[2:] == ["1.000", "1.000", "1.000"]


def test_a_majority_that_cannot_be_written_is_a_clear_error(tmp_path, capsys):
    a = tmp_path / "a.yml"
    a.write_text("statements:\n  - {text: hi, outcomes: []}\n")
    assert run(_args(a, a, majority_out=tmp_path / "no" / "such" / "dir.yml")) == 2
    assert capsys.readouterr().err.startswith("error: cannot write")


# ------------------------------------------------------------------ the readings data
def test_the_readings_label_the_same_450_statements():
    readings = [load_statements(READINGS / name) for name in [*READERS, "majority.yml"]]
    check_aligned(readings, [*READERS, "majority.yml"])
    assert len(readings[0]) == 450


def test_the_writers_reading_is_the_held_out_sets_own_labels():
    source = {}
    for name in ["outcomes_dev.yml", "outcomes_indirect.yml"]:
        source.update({(s.text, s.role): s.outcomes for s in load_statements(DATA / name)})
    writers = load_statements(READINGS / "writers.yml")
    assert all(source[(s.text, s.role)] == s.outcomes for s in writers)
    dev = {s.text for s in load_statements(DATA / "outcomes_dev.yml")}
    assert dev <= {s.text for s in writers}  # all of dev; the rest from indirect


def test_the_majority_file_is_the_majority_of_the_three_readings():
    readings = [[s.outcomes for s in load_statements(READINGS / n)] for n in READERS]
    stored = [s.outcomes for s in load_statements(READINGS / "majority.yml")]
    assert stored == majority(readings)
