import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_server


def test_a_valid_action_answer_passes_the_cached_validator():
    action = RemoteAction("action_greet", None)
    answer = {"events": [{"event": "slot", "name": "requested_slot", "value": None}],
              "responses": [{"response": "utter_greet"}]}
    assert rasa_server._validate_action_result(action, answer) is True
    assert rasa_server._validate_action_result(action, answer) is True


def test_an_invalid_action_answer_still_raises_rasas_validation_error():
    action = RemoteAction("action_greet", None)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        rasa_server._validate_action_result(action, {"events": [{"no_event_key": 1}], "responses": "nope"})
