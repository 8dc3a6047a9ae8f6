"""Rasa's action-response validation, made fast, still accepts and rejects the same results."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups


@pytest.fixture
def action() -> RemoteAction:
    rasa_speedups.apply()
    return RemoteAction("action_x", None)


def test_a_valid_response_passes(action):
    good = {"events": [{"event": "slot", "name": "story", "value": None}], "responses": []}
    assert action._validate_action_result(good) is True


@pytest.mark.parametrize("bad", [{"events": "not a list"}, {"events": [{"name": "no event type"}]}])
def test_an_invalid_response_is_still_refused(action, bad):
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result(bad)


def test_the_schema_is_checked_once():
    rasa_speedups.action_result_validator.cache_clear()
    first = rasa_speedups.action_result_validator()
    assert rasa_speedups.action_result_validator() is first
