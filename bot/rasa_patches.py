"""Three fixes to Rasa 3.6's hot path, applied by ``python -m bot.rasa_server`` (bench/README.md).

Each replaces one Rasa method with one that gives the same answer for less CPU; tests in
tests/bot/test_rasa_patches.py compare both on the same input.

1. ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)``, which
   re-checks Rasa's large, constant event schema against the JSON Schema meta-schema on every
   custom action call before checking the answer: about 150 ms of CPU per call on our 2 cores
   (cause 1). Here the schema is checked once; then each event is checked against the one branch
   of the schema's ``oneOf`` that its ``event`` name selects, instead of against all 23 (the
   branches are told apart by that name, so exactly one can match: the same rule). An answer that
   does not pass goes through Rasa's own check, so it still raises Rasa's ValidationError.
2. ``LogisticRegressionClassifier._create_X`` asks each message for its combined sparse features,
   which builds the token-by-feature *sequence* matrix too (a deep copy and a sparse ``hstack``
   per featurizer) only to throw it away: the classifier reads sentence features alone. That was
   8 of the 9 ms the classifier took per message. Here only the sentence features are combined,
   in the same order, so the matrix is the same and training (which runs unpatched) still fits.
3. ``EndpointConfig.request`` opens a new ``aiohttp.ClientSession``, so a new TCP connection, for
   every custom action call (1-3 per turn), and the action server accepts a new connection each
   time. Here each endpoint keeps one session per event loop, with keep-alive connections
   released after ``KEEPALIVE_SECONDS`` idle: shorter than the action server's own keep-alive
   (Sanic's 5 s), so a connection the server is about to close is never reused for a request.
   The sessions close with the server (Rasa's ``close_resources`` listener).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from jsonschema import validators
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from scipy.sparse import csr_matrix, hstack, vstack


# ------------------------------------------------------------------ 1. action answers
@dataclass
class ByEventName:
    """The answer's shape without its events, and one validator per event name."""

    answer: Any
    events: Dict[str, Any]

    def is_valid(self, result: Any) -> bool:
        if not self.answer.is_valid(result):
            return False
        for event in result.get("events") or []:
            validator = self.events.get(event.get("event")) if isinstance(event, dict) else None
            if validator is None or not validator.is_valid(event):
                return False
        return True


def by_event_name(schema: Dict[str, Any]) -> Optional[ByEventName]:
    """Split Rasa's answer schema by event name; None if it is not shaped as expected."""
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    try:
        event_schema = schema["properties"]["events"]["items"]
        branches = event_schema["oneOf"]
    except (KeyError, TypeError):
        return None
    common = {key: value for key, value in event_schema.items() if key != "oneOf"}
    events: Dict[str, Any] = {}
    for branch in branches:
        name = (branch.get("properties") or {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in events:
            return None
        events[name] = cls({**common, "allOf": [branch]})
    answer_schema = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    return ByEventName(cls(answer_schema), events)


_VALIDATORS: Dict[int, Optional[ByEventName]] = {}


def make_validate_action_result(original):
    def _validate_action_result(self, result: Dict[str, Any]) -> bool:
        key = id(type(self))
        if key not in _VALIDATORS:
            _VALIDATORS[key] = by_event_name(self.action_response_format_spec())
        validator = _VALIDATORS[key]
        if validator is not None and validator.is_valid(result):
            return True
        return original(self, result)  # Rasa's full check; raises with its explanatory message

    return _validate_action_result


# ------------------------------------------------------------ 2. intent classifier input
def _sentence_features(message, sparse: bool) -> List[Any]:
    return [
        feature.features
        for feature in message.features
        if feature.attribute == TEXT
        and feature.type == FEATURE_TYPE_SENTENCE
        and (feature.is_sparse() if sparse else feature.is_dense())
    ]


def sentence_matrix(messages) -> csr_matrix:
    """What ``LogisticRegressionClassifier._create_X`` returns, without the sequence features."""
    rows = []
    for message in messages:
        sparse = _sentence_features(message, sparse=True)
        dense = _sentence_features(message, sparse=False)
        rows.append(hstack([
            csr_matrix((hstack(sparse) if len(sparse) > 1 else sparse[0]) if sparse else []),
            csr_matrix((np.concatenate(dense, axis=-1) if len(dense) > 1 else dense[0]) if dense else []),
        ]))
    return vstack(rows)


# ------------------------------------------------------- 3. keep-alive to the action server
KEEPALIVE_SECONDS = 2.0
_SESSIONS: Dict[Tuple[int, int], Any] = {}


class _Kept:
    """``async with`` a shared session without closing it at the end of the block."""

    def __init__(self, session) -> None:
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc_info) -> bool:
        return False


def shared_session(endpoint) -> _Kept:
    """``EndpointConfig.session`` with the same headers, auth and timeout, kept per event loop."""
    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    key = (id(endpoint), id(asyncio.get_running_loop()))
    session = _SESSIONS.get(key)
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        session = _SESSIONS[key] = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
    return _Kept(session)


async def close_shared_sessions() -> None:
    loop = id(asyncio.get_running_loop())
    for key in [key for key in _SESSIONS if key[1] == loop]:
        await _SESSIONS.pop(key).close()


def _closing_shared_sessions_too(close_resources):
    async def close(app, loop) -> None:
        try:
            await close_resources(app, loop)
        finally:
            await close_shared_sessions()

    return close


def apply() -> None:
    from rasa.core import run
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.utils.endpoints import EndpointConfig

    if not getattr(RemoteAction._validate_action_result, "_sapalapor", False):
        patched = make_validate_action_result(RemoteAction._validate_action_result)
        patched._sapalapor = True
        RemoteAction._validate_action_result = patched
    LogisticRegressionClassifier._create_X = lambda self, messages: sentence_matrix(messages)
    if EndpointConfig.session is not shared_session:
        EndpointConfig.session = shared_session
        run.close_resources = _closing_shared_sessions_too(run.close_resources)
