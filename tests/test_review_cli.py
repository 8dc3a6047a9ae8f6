"""``python -m bot practitioner add|list|remove``."""

from __future__ import annotations

import argparse
import io

import pytest
from werkzeug.security import check_password_hash

from bot.review import cli
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker


def _run(argv, url):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(["--url", url, *argv]))


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'outcomes.db'}"


def _hash(url, name):
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            p = repo.get_practitioner_by_name(s, name)
            return p.password_hash if p else None
    finally:
        engine.dispose()


def test_add_list_remove_with_password_on_stdin(url, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert _run(["add", "sam", "--password-stdin"], url) == 0
    stored = _hash(url, "sam")
    assert stored.startswith("scrypt:") and check_password_hash(stored, "a long enough secret")
    assert "a long enough secret" not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another long secret\n"))
    assert _run(["add", "sam", "--password-stdin"], url) == 1  # taken
    assert _run(["list"], url) == 0
    assert capsys.readouterr().out.startswith("sam\t")
    assert _run(["remove", "sam"], url) == 0
    assert _run(["remove", "sam"], url) == 1
    assert _hash(url, "sam") is None


def test_add_asks_twice_with_getpass(url, monkeypatch):
    answers = iter(["first long password", "second long password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _run(["add", "kim"], url) == 2  # they differ
    answers = iter(["same long password", "same long password"])
    assert _run(["add", "kim"], url) == 0
    assert check_password_hash(_hash(url, "kim"), "same long password")


def test_short_passwords_are_refused(url, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert _run(["add", "lee", "--password-stdin"], url) == 2
