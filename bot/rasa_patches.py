"""Fixes to Rasa 3.6, applied by ``python -m bot.rasa_server``: three on its hot path
(bench/README.md), one on what a failed action call does (issue 13, D2).

Rasa Open Source is in maintenance mode: every patch is fenced by :data:`RASA_VERSION`, and
:func:`apply` refuses to patch another version (the methods replaced may have changed).

Each hot-path patch replaces one Rasa method with one that gives the same answer for less CPU;
tests in tests/bot/test_rasa_patches.py compare both on the same input.

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
4. ``MessageProcessor._run_action`` logs a failed action (a custom action call above all) ("Bot will continue, but
   the actions events are lost") and carries on: the citizen got no reply, and when the lost call
   was the form's, Rasa went on to submit an empty form. Here a call that failed before reaching
   the action server (refused, or the request could not be written: a reused keep-alive
   connection the server had just closed) is tried again up to :data:`ACTION_ATTEMPTS` times,
   and a call that still fails fails the whole turn with :class:`ActionServerFailed`. Rasa saves
   a conversation only at the end of a turn, so nothing of the failed turn is stored: the relay
   answers 500 and the gateway retries the message or tells the citizen it is kept.
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


# ---------------------------------------------------------- 4. failed action calls
RASA_VERSION = "3.6.21"
ACTION_ATTEMPTS = 3
ACTION_RETRY_SECONDS = 0.2


class ActionServerFailed(Exception):
    """A custom action call failed: the turn is abandoned, nothing of it is saved."""


def _never_reached_the_server(error: BaseException) -> bool:
    """Rasa wraps aiohttp's error in a RasaException; the cause says whether anything was sent."""
    import aiohttp

    cause = error.__cause__ or error.__context__
    if isinstance(cause, aiohttp.ClientConnectorError):
        return True  # refused or unreachable: no request left
    # "Can not write request body": the request did not get out; a disconnect after it did may
    # have run the action, so it is not retried.
    return isinstance(cause, aiohttp.ClientOSError) and not isinstance(cause, aiohttp.ServerDisconnectedError)


def make_run_action(original):
    from rasa.core.actions.action import ActionExecutionRejection

    async def _run_action(self, action, tracker, output_channel, nlg, prediction):
        # Every action, not only RemoteAction: a form calls its validation action from inside
        # its own run, and that call's failure must fail the turn just the same.
        failures: List[BaseException] = []
        run = action.run

        async def guarded_run(*args, **kwargs):
            for attempt in range(1, ACTION_ATTEMPTS + 1):
                try:
                    return await run(*args, **kwargs)
                except ActionExecutionRejection:
                    raise
                except Exception as error:  # noqa: BLE001 - recorded, and the turn fails below
                    if attempt < ACTION_ATTEMPTS and _never_reached_the_server(error):
                        await asyncio.sleep(ACTION_RETRY_SECONDS * attempt)
                        continue
                    failures.append(error)
                    raise

        action.run = guarded_run
        try:
            result = await original(self, action, tracker, output_channel, nlg, prediction)
        finally:
            del action.run
        if failures:
            raise ActionServerFailed(f"action {action.name()} failed: {failures[0]}") from failures[0]
        return result

    _run_action._sapalapor = True
    return _run_action


def apply() -> None:
    import rasa
    from rasa.core import run
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.utils.endpoints import EndpointConfig

    if rasa.__version__ != RASA_VERSION:
        raise RuntimeError(f"bot/rasa_patches.py is written for Rasa {RASA_VERSION}, not {rasa.__version__}: "
                           "check each patch against the new version before changing RASA_VERSION")
    if not getattr(MessageProcessor._run_action, "_sapalapor", False):
        MessageProcessor._run_action = make_run_action(MessageProcessor._run_action)

    if not getattr(RemoteAction._validate_action_result, "_sapalapor", False):
        patched = make_validate_action_result(RemoteAction._validate_action_result)
        patched._sapalapor = True
        RemoteAction._validate_action_result = patched
    LogisticRegressionClassifier._create_X = lambda self, messages: sentence_matrix(messages)
    if EndpointConfig.session is not shared_session:
        EndpointConfig.session = shared_session
        run.close_resources = _closing_shared_sessions_too(run.close_resources)
