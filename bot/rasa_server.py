"""``python -m bot.rasa_server run ...``: Rasa's own command line, with one hot-path fix applied.

Why: Rasa 3.6 checks every custom action's answer with ``jsonschema.validate(result, schema)``,
which re-validates Rasa's large, constant event schema against the JSON Schema meta-schema on
every call before checking the answer: about 150 ms of CPU per custom action on our 2 cores
(bench/README.md, "Causes"), several times per turn. Here the schema is checked once and one
validator is reused; the answer is validated exactly as before and an invalid one still raises
the same ValidationError.
"""
from __future__ import annotations

import sys
from typing import Any, Dict

from jsonschema import ValidationError, validators
from rasa.core.actions import action as rasa_action

_VALIDATORS: Dict[int, Any] = {}
_original = rasa_action.RemoteAction._validate_action_result


def _validate_action_result(self, result: Dict[str, Any]) -> bool:
    schema = self.action_response_format_spec()
    validator = _VALIDATORS.get(id(type(self)))
    if validator is None:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        validator = _VALIDATORS[id(type(self))] = cls(schema)
    try:
        validator.validate(result)
    except ValidationError:
        return _original(self, result)  # raises with Rasa's own explanatory message
    return True


def main() -> None:
    rasa_action.RemoteAction._validate_action_result = _validate_action_result
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
