"""Fixes to Rasa 3.6, applied by ``python -m bot.rasa_server``: three on its hot path
(bench/README.md), one on what a failed action call does (issue 13, D2), and four that keep a turn's
cost flat as a conversation grows (issue 18, 5-8).

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
5. ``RemoteAction._action_call_format`` sends the action server the whole tracker with every
   call: every event of the conversation, 1-4 calls a turn, so a turn's CPU grew with the length
   of the conversation (600 kB per call at the 150th message of one conversation, issue 18). Here
   the tracker sent is Rasa's own ``current_state`` with its events cut to the events since the
   latest session start, and of those the last :data:`ACTION_EVENT_TURNS` user turns. Slots,
   latest message, active loop, latest action and followup action are Rasa's, computed from the
   whole tracker; only the list of events is shorter. What our actions read of the events (the
   bot's previous turn, the form's last run, the last two fallback menus) lies in that tail.
6. ``MaxHistoryTrackerFeaturizer.prediction_states`` builds the policies' input by replaying the
   whole conversation into a fresh tracker and computing a state for every action in it, for two
   policies a prediction and 2-8 predictions a turn, after ``applied_events`` folded the whole
   event list again: the largest part of the growth (issue 18). Both policies read only the end
   of that list (MemoizationPolicy its last ``max_history`` = 5 states; RulePolicy compares each
   rule from the end, and the longest rule here is 7 states). Here Rasa's loop runs from a
   snapshot of the same conversation's previous call (replayed tracker, loop variables, the last
   :data:`STATES_KEPT` states), taken :data:`SNAPSHOT_SLACK` actions before the end and used only
   while the applied events still begin with the ones it replayed (checked by identity); and
   ``applied_events`` continues its fold from an earlier result on the same events (the last
   :data:`APPLIED_PER_CONVERSATION` folds of a conversation: its tracker and Rasa's temporary
   copies of it). The states returned are the last states of Rasa's list, at least
   :data:`STATES_KEPT` of them (tested state for state on a recorded conversation). Only
   predictions are patched: training featurises its trackers with Rasa's code.
7. ``DialogueStateTracker.copy`` (before every action) and ``FormAction._temporary_tracker`` (each
   form validation) replay every event into a new tracker; the tracker store rebuilt the cached
   conversation the same way. Here :func:`tracker_twin` gives the new tracker the state those
   events produce, which is the state the tracker already holds (tested attribute for attribute
   against Rasa's copy on the recorded conversation); a tracker with a restart in it still goes
   through Rasa's ``_temporary_tracker``.
8. Python's garbage collector walks every long-lived object in a full (generation 2) collection:
   in the Rasa server that is the loaded model, about 520,000 objects, 380 ms of CPU per full
   collection, which a conversation that keeps growing triggers every few hundred turns, and
   every conversation in flight waits for it (issue 18: the long-conversation figures varied
   0.8-1.4x between runs on one block of ten turns that had one). ``load_agent_on_start``
   (Rasa's ``before_server_start`` listener) is wrapped so that, once the model is loaded, those
   objects are moved out of the collector's reach (``gc.freeze``): they live as long as the
   process anyway (the model is never replaced at run time here: ``bot run`` restarts servers).
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
ACTION_CONNECTIONS = 100  # aiohttp's default connection limit, the one Rasa's own sessions have
# A shared.http_sessions.KeptSession per (endpoint, event loop): an aiohttp session belongs to the
# loop it was made in, so one kept session for the process would not do.
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

    from shared.http_sessions import KeptSession

    key = (id(endpoint), id(asyncio.get_running_loop()))
    kept = _SESSIONS.get(key)
    if kept is None or not kept.is_open:  # a closed session is made again with the endpoint's headers now
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        kept = _SESSIONS[key] = KeptSession(
            limit=ACTION_CONNECTIONS,
            keepalive_timeout=KEEPALIVE_SECONDS,
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        )
    return _Kept(kept.get())


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


# ---------------------------------------------- 5. what an action call sends (issue 18)
ACTION_EVENT_TURNS = 5


def recent_events(events) -> List[Any]:
    """The events an action call sends: since the latest session start, at most the last
    :data:`ACTION_EVENT_TURNS` user turns (a turn starts after the previous user message)."""
    from rasa.shared.core.events import SessionStarted, UserUttered

    events = list(events)
    users = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, SessionStarted):
            return events[index:]
        if isinstance(event, UserUttered):
            users += 1
            if users > ACTION_EVENT_TURNS:
                return events[index + 1:]
    return events


class _RecentEventsOnly:
    """What ``RemoteAction._action_call_format`` reads of a tracker, with the events cut."""

    def __init__(self, tracker) -> None:
        self._tracker = tracker
        self.sender_id = tracker.sender_id

    def current_state(self, event_verbosity=None) -> Dict[str, Any]:
        from rasa.shared.core.trackers import EventVerbosity

        state = self._tracker.current_state(EventVerbosity.NONE)  # everything but the events
        state["events"] = [event.as_dict() for event in recent_events(self._tracker.events)]
        return state


def make_action_call_format(original):
    def _action_call_format(self, tracker, domain):
        return original(self, _RecentEventsOnly(tracker), domain)

    _action_call_format._sapalapor = True
    return _action_call_format


# ------------------------------------- 6. policy input from the end of the conversation
STATES_KEPT = 16  # states kept with a snapshot: >= max_history (5) and the longest rule (7 states)
# A snapshot is taken this many actions before the end: a turn's undoing (a reverted user message,
# a form's rewind) rarely reaches further back, and one that does replays from the start, which is
# only slower. A prediction replays between SNAPSHOT_SLACK and twice that many actions: 16 left
# turn 150 at 1.25x the CPU of turn 5 (bench "long", 2026-12-03), 8 at 1.00-1.18x.
SNAPSHOT_SLACK = 8
MEMO_CONVERSATIONS = 256
MEMO_IDLE_SECONDS = 900.0  # as the tracker store's cache: nothing kept past a quiet quarter hour


@dataclass
class _Applied:
    events: List[Any]  # the tracker's events folded so far, compared by identity
    loop_names: frozenset
    applied: List[Any]
    used: float = 0.0


@dataclass
class _Replay:
    applied: List[Any]  # the applied events replayed into ``tracker``, compared by identity
    tracker: Any  # private: cloned before every use
    position: int  # actions before the snapshot
    last_ml_action: Any
    turn_was_hidden: bool
    states: List[Any]  # the last STATES_KEPT states before the snapshot, private copies
    used: float = 0.0


# ------------------------------------------------ 7. copies of a tracker without a replay
def tracker_twin(tracker, max_event_history: Any = ...):
    """What ``tracker.copy()`` returns, without replaying every event into a new tracker.

    Rasa's copy is ``init_copy()`` plus ``update(event)`` for each event, so its state is the
    state those events produce, which is the state ``tracker`` holds (Rasa changes a tracker only
    through ``update``). Here the new tracker takes that state directly: events (the same
    objects, in a new deque), slots (copied), active loop and latest action (copied), the rest
    shared as the replay would share it (the latest user and bot events). Like Rasa's copy it has
    no model or assistant id. ``max_event_history`` gives the copy another one, as
    ``DialogueStateTracker.from_events`` would.
    """
    import dataclasses

    twin = _bare_copy(tracker)
    if max_event_history is not ...:
        twin._max_event_history = max_event_history
    state = {name: value for name, value in vars(tracker).items() if name not in _NOT_SHARED}
    vars(twin).update(state)
    slots = type(tracker.slots)()
    slots.update((name, _copy_slot(slot)) for name, slot in tracker.slots.items())
    twin.slots = slots
    twin.active_loop = dataclasses.replace(tracker.active_loop) if tracker.active_loop is not None else None
    twin.latest_action = dict(tracker.latest_action) if tracker.latest_action is not None else None
    twin.events = twin._create_events(tracker.events)
    return twin


def _bare_copy(tracker):
    """``tracker.init_copy()`` without slots, for a caller that sets them at once.

    Rasa's ``init_copy`` copies every slot with ``copy.copy`` and resets it (42 slots here), and
    the twin throws those copies away: a sixth of the Rasa server's time under the profiler
    (bench text turns, issue 18), though within the noise of an unprofiled turn.
    """
    from rasa.shared.constants import DEFAULT_SENDER_ID
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker(tracker.sender_id or DEFAULT_SENDER_ID, (), tracker._max_event_history,
                                is_rule_tracker=tracker.is_rule_tracker)


def initial_copy(tracker):
    """What ``tracker.init_copy()`` returns (a new tracker, every slot at its initial value),
    with each slot copied by :func:`_copy_slot` instead of ``copy.copy``: the start of a replay."""
    twin = _bare_copy(tracker)
    twin.slots = {slot.name: _copy_slot(slot) for slot in tracker.slots.values()}
    twin._reset_slots()
    return twin


# What a replay does not carry over (init_copy sets them) or what must not be shared.
_NOT_SHARED = frozenset({"events", "slots", "active_loop", "latest_action", "model_id", "assistant_id",
                         "sender_source", "_max_event_history", "sender_id", "is_rule_tracker"})


def make_copy(original):
    def copy(self):
        return tracker_twin(self)

    copy._sapalapor = True
    return copy


def make_temporary_tracker(original):
    """``FormAction._temporary_tracker``: the tracker plus three kinds of events, built by replaying
    everything since the latest restart; here the twin of the tracker takes the new events."""
    from rasa.shared.core.constants import REQUESTED_SLOT
    from rasa.shared.core.events import ActionExecuted, Restarted, SlotSet

    def _temporary_tracker(self, current_tracker, additional_events, domain):
        # Rasa's events_after_latest_restart() is every event when there is no restart; the event
        # types are compared in C (a Python scan of every event grew with the conversation).
        if Restarted in set(map(type, current_tracker.events)) or \
                list(current_tracker.slots) != [slot.name for slot in domain.slots]:
            return original(self, current_tracker, additional_events, domain)
        tracker = tracker_twin(current_tracker, max_event_history=None)
        for event in [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)), ActionExecuted(self.name()),
                      *additional_events]:
            tracker.update(event)
        return tracker

    _temporary_tracker._sapalapor = True
    return _temporary_tracker


class _Memo:
    """Per-conversation memory, least recently used first, bounded in count and idle time."""

    def __init__(self) -> None:
        from shared.lru import BoundedLru

        self.entries: "BoundedLru[Any, Any]" = BoundedLru(MEMO_CONVERSATIONS)

    def get(self, key):
        import time

        now = time.monotonic()
        self.entries.evict_oldest_while(lambda oldest: now - oldest.used > MEMO_IDLE_SECONDS)
        entry = self.entries.get(key)
        if entry is not None:
            entry.used = now
        return entry

    def put(self, key, entry) -> None:
        import time

        entry.used = time.monotonic()
        self.entries.put(key, entry)

    def clear(self) -> None:
        self.entries.clear()


_APPLIED = _Memo()
_REPLAYS = _Memo()


def _extends(prefix: List[Any], items: List[Any]) -> bool:
    from operator import is_

    return len(prefix) <= len(items) and all(map(is_, prefix, items))


def _loop_names(events) -> frozenset:
    from rasa.shared.core.events import ActiveLoop

    return frozenset(event.name for event in events if isinstance(event, ActiveLoop) and event.name)


def _fold(tracker, applied: List[Any], events, loop_names) -> List[Any]:
    """The loop of Rasa 3.6's ``DialogueStateTracker.applied_events``, continued from ``applied``."""
    from rasa.shared.core.events import (
        ActionExecuted, ActionReverted, Restarted, SessionStarted, UserUttered, UserUtteranceReverted,
    )

    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied = []
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
    return applied


APPLIED_PER_CONVERSATION = 4  # the tracker and the temporary copies Rasa makes of it in a turn


def make_applied_events(original):
    def applied_events(self) -> List[Any]:
        events = list(self.events)
        kept: List[_Applied] = getattr(_APPLIED.get(self.sender_id), "kept", [])
        memo = max((entry for entry in kept if _extends(entry.events, events)),
                   key=lambda entry: len(entry.events), default=None)
        applied = None
        if memo is not None:
            new = events[len(memo.events):]
            if not (_loop_names(new) - memo.loop_names):  # a new loop name changes earlier folds
                applied = _fold(self, list(memo.applied), new, memo.loop_names)
                entry = _Applied(events, memo.loop_names, applied)
        if applied is None:
            applied = list(original(self))
            entry = _Applied(events, _loop_names(events), applied)
        others = [other for other in kept if other is not memo and not _extends(other.events, events)]
        _APPLIED.put(self.sender_id, _AppliedOf([entry, *others][:APPLIED_PER_CONVERSATION]))
        return list(applied)

    applied_events._sapalapor = True
    return applied_events


@dataclass
class _AppliedOf:
    kept: List[_Applied]  # folds of one conversation's trackers, newest first
    used: float = 0.0


def _copy_slot(slot):
    """``copy.copy(slot)`` at a quarter of the cost (a Slot is a plain object: its attributes)."""
    twin = slot.__class__.__new__(slot.__class__)
    twin.__dict__.update(slot.__dict__)
    return twin


def _clone(tracker):
    """A prior tracker's copy for state computation: its slots, loop and latest action, no events."""
    import copy
    import dataclasses

    twin = copy.copy(tracker)
    twin.slots = {name: _copy_slot(slot) for name, slot in tracker.slots.items()}
    twin.active_loop = dataclasses.replace(tracker.active_loop) if tracker.active_loop is not None else None
    twin.latest_action = dict(tracker.latest_action) if tracker.latest_action is not None else None
    twin.events = tracker._create_events([])  # state computation never reads a prior tracker's events
    return twin


def _copy_states(states: List[Any], *extra: Any) -> Tuple[List[Any], List[Any]]:
    """Fresh copies of states (and of ``extra`` sub-states), sharing between them what the
    originals shared: Rasa hands a state's user part on to the next state and changes the
    last state's in place, so the copies must alias the way one run of its loop does."""
    copies: Dict[int, Any] = {}

    def copied(sub_state):
        if sub_state is None:
            return None
        if id(sub_state) not in copies:
            copies[id(sub_state)] = dict(sub_state)  # values are strings and tuples
        return copies[id(sub_state)]

    return [{part: copied(sub_state) for part, sub_state in state.items()} for state in states], \
        [copied(sub_state) for sub_state in extra]


def recent_states(domain, tracker, omit_unset_slots: bool = False, ignore_rule_only_turns: bool = False,
                  rule_only_data: Optional[Dict[str, Any]] = None) -> List[Any]:
    """The end of ``domain.states_for_tracker_history(tracker, ...)``: at least its last
    :data:`STATES_KEPT` states (all of them when there are fewer), equal state for state.

    Rasa's loop over the prior trackers, run from a snapshot of the same conversation's previous
    call (the replayed tracker, the loop's variables and its last :data:`STATES_KEPT` states)
    when the applied events still begin with the ones replayed then; else from the start.
    """
    from rasa.shared.core.constants import PREVIOUS_ACTION
    from rasa.shared.core.events import ActionExecuted

    applied = tracker.applied_events()
    key = (tracker.sender_id, id(domain), omit_unset_slots, ignore_rule_only_turns, repr(rule_only_data))
    memo = _REPLAYS.get(key)
    if memo is not None and _extends(memo.applied, applied):
        start, replay, position, turn_was_hidden = len(memo.applied), _clone(memo.tracker), memo.position, memo.turn_was_hidden
        states, (last_ml_action,) = _copy_states(memo.states, memo.last_ml_action)
    else:
        start, replay, position, turn_was_hidden, last_ml_action, states = 0, initial_copy(tracker), 0, False, None, []
    total = position + 1 + sum(1 for event in applied[start:] if isinstance(event, ActionExecuted))
    # A new snapshot once the end is two slacks past the old one: at most 2 x SNAPSHOT_SLACK
    # actions are replayed per call, and a snapshot is taken about once every SNAPSHOT_SLACK actions.
    snapshot_at = total - SNAPSHOT_SLACK if start == 0 or total - position >= 2 * SNAPSHOT_SLACK else -1
    for index in range(start, len(applied) + 1):
        event = applied[index] if index < len(applied) else None
        if event is not None and not isinstance(event, ActionExecuted):
            replay.update(event)
            continue
        if position == snapshot_at:
            kept, (kept_action,) = _copy_states(states[-STATES_KEPT:], last_ml_action)
            _REPLAYS.put(key, _Replay(applied[:index], _clone(replay), position, kept_action, turn_was_hidden, kept))
        # From here to ``position += 1``: Rasa 3.6's Domain.states_for_tracker_history, unchanged.
        hide_rule_turn = event.hide_rule_turn if event is not None else False
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action = domain._get_prev_action_sub_state(replay)
            if not replay.followup_action and not replay.latest_action_name == replay.active_loop_name:
                turn_was_hidden = hide_rule_turn
        if not (ignore_rule_only_turns and turn_was_hidden):
            state = domain.get_active_state(replay, omit_unset_slots=omit_unset_slots)
            if ignore_rule_only_turns:
                domain._remove_rule_only_features(state, rule_only_data)
                if states:
                    domain._substitute_rule_only_user_input(state, states[-1])
                if last_ml_action:
                    state[PREVIOUS_ACTION] = last_ml_action
            states.append(domain._clean_state(state))
        position += 1
        if event is not None:
            replay.update(event)
    return states


def make_prediction_states(original):
    """``MaxHistoryTrackerFeaturizer.prediction_states`` with each tracker's states from
    :func:`recent_states` (Rasa's ``_create_states`` where that declines); the rest is Rasa's."""

    def prediction_states(self, trackers, domain, use_text_for_last_user_input=False, ignore_rule_only_turns=False,
                          rule_only_data=None, ignore_action_unlikely_intent=False):
        trackers_as_states = []
        for tracker in trackers:
            trackers_as_states.append(recent_states(domain, tracker, False, ignore_rule_only_turns, rule_only_data))
        if ignore_action_unlikely_intent:
            trackers_as_states = [self._remove_action_unlikely_intent_from_states(states)
                                  for states in trackers_as_states]
        trackers_as_states = [self.slice_state_history(states, self.max_history) for states in trackers_as_states]
        self._choose_last_user_input(trackers_as_states, use_text_for_last_user_input)
        return trackers_as_states

    prediction_states._sapalapor = True
    return prediction_states


# ------------------------------------------- 8. the loaded model out of the collector's reach
def make_load_agent_on_start(original):
    """Rasa's ``load_agent_on_start`` followed by :func:`shared.long_lived.freeze_loaded` (see 8)."""
    import functools

    from shared.long_lived import freeze_loaded

    @functools.wraps(original)
    async def load_agent_on_start(*args, **kwargs):
        loaded = await original(*args, **kwargs)
        freeze_loaded("Rasa model")
        return loaded

    load_agent_on_start._sapalapor = True
    return load_agent_on_start


def apply() -> None:
    import rasa
    from rasa.core import run
    from rasa.core.actions.action import RemoteAction
    from rasa.core.actions.forms import FormAction
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.processor import MessageProcessor
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.trackers import DialogueStateTracker
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
    if not getattr(RemoteAction._action_call_format, "_sapalapor", False):
        RemoteAction._action_call_format = make_action_call_format(RemoteAction._action_call_format)
    if not getattr(DialogueStateTracker.applied_events, "_sapalapor", False):
        DialogueStateTracker.applied_events = make_applied_events(DialogueStateTracker.applied_events)
    if not getattr(MaxHistoryTrackerFeaturizer.prediction_states, "_sapalapor", False):
        MaxHistoryTrackerFeaturizer.prediction_states = make_prediction_states(MaxHistoryTrackerFeaturizer.prediction_states)
    if not getattr(DialogueStateTracker.copy, "_sapalapor", False):
        DialogueStateTracker.copy = make_copy(DialogueStateTracker.copy)
    if not getattr(FormAction._temporary_tracker, "_sapalapor", False):
        FormAction._temporary_tracker = make_temporary_tracker(FormAction._temporary_tracker)
    if not getattr(run.load_agent_on_start, "_sapalapor", False):
        run.load_agent_on_start = make_load_agent_on_start(run.load_agent_on_start)
    if EndpointConfig.session is not shared_session:
        EndpointConfig.session = shared_session
        run.close_resources = _closing_shared_sessions_too(run.close_resources)
