"""Patches 5 and 6 of bot/rasa_patches.py against Rasa's own code, on a recorded conversation.

The fixture is the event list of one real conversation with the project's model and action
server (110 messages, typed as a citizen would: a complaint filed with help, repeat,
cancel-and-continue and corrections at the read-back, a status question, a handover, a second
complaint, then again), taken from Rasa's tracker store after the run (issue 18), with the NLU's
intent rankings left out.
"""
import gzip
import json
from pathlib import Path

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, Event, SessionStarted, UserUttered, UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_patches
from bot.settings import ROOT

FIXTURE = Path(__file__).parent / "fixtures" / "long_conversation_events.json.gz"
RASA_APPLIED_EVENTS = DialogueStateTracker.applied_events
RASA_STATES = Domain.states_for_tracker_history
RULE_ONLY = {"rule_only_slots": ["requested_slot"], "rule_only_loops": ["status_form"]}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain.yml"))


@pytest.fixture(scope="module")
def events():
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as recorded:
        return [Event.from_parameters(data) for data in json.load(recorded)]


@pytest.fixture(autouse=True)
def empty_memory():
    rasa_patches._APPLIED.clear()
    rasa_patches._REPLAYS.clear()
    yield
    rasa_patches._APPLIED.clear()
    rasa_patches._REPLAYS.clear()


@pytest.fixture
def patched_applied_events(monkeypatch):
    monkeypatch.setattr(DialogueStateTracker, "applied_events", rasa_patches.make_applied_events(RASA_APPLIED_EVENTS))


def tracker_of(events, domain, sender="recorded") -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, list(events), domain.slots)


def boundaries(events, every=1):
    """Prefix lengths that end just before an action: where Rasa predicts."""
    ends = [index for index, event in enumerate(events) if isinstance(event, ActionExecuted)] + [len(events)]
    return ends[::every]


def user_turns(events, count):
    """The prefix with ``count`` user messages and what the bot did after the last one."""
    seen = 0
    for index, event in enumerate(events):
        if isinstance(event, UserUttered):
            seen += 1
            if seen == count + 1:
                return events[:index]
    return events


# ------------------------------------------------------------------------- 5. action calls
def call_of(format_call, events, domain):
    return format_call(RemoteAction("action_repeat", None), tracker_of(events, domain), domain)


def test_an_action_call_carries_rasas_tracker_with_only_its_recent_events(events, domain):
    ours = call_of(rasa_patches.make_action_call_format(RemoteAction._action_call_format), events, domain)
    rasas = call_of(RemoteAction._action_call_format, events, domain)
    sent, full = ours.pop("tracker"), rasas.pop("tracker")
    assert ours == rasas
    sent_events, full_events = sent.pop("events"), full.pop("events")
    assert sent == full
    assert sent_events == full_events[-len(sent_events):]
    assert sum(event["event"] == "user" for event in sent_events) == rasa_patches.ACTION_EVENT_TURNS
    assert len(sent_events) < len(full_events) / 10


def test_an_action_call_starts_its_events_at_the_latest_session_start(events, domain):
    start = user_turns(events, 2)
    sent = call_of(rasa_patches.make_action_call_format(RemoteAction._action_call_format), start, domain)
    started = next(index for index, event in enumerate(start) if isinstance(event, SessionStarted))
    assert sent["tracker"]["events"] == [event.as_dict() for event in start[started:]]


def test_the_bytes_sent_to_the_action_server_do_not_grow_with_the_conversation(events, domain):
    ours = rasa_patches.make_action_call_format(RemoteAction._action_call_format)

    def size(format_call, turns):
        return len(json.dumps(call_of(format_call, user_turns(events, turns), domain)))

    assert size(ours, 100) <= 1.2 * size(ours, 5)
    assert size(RemoteAction._action_call_format, 100) > 2 * size(RemoteAction._action_call_format, 5)


# ---------------------------------------------------------------------- 6. applied events
@pytest.mark.usefixtures("patched_applied_events")
def test_applied_events_continued_from_the_last_call_are_rasas(events, domain):
    for end in boundaries(events):
        tracker = tracker_of(events[:end], domain)
        assert tracker.applied_events() == RASA_APPLIED_EVENTS(tracker)
    assert len(rasa_patches._APPLIED.entries) == 1


@pytest.mark.usefixtures("patched_applied_events")
def test_applied_events_after_a_rewind_and_a_new_loop_are_rasas(events, domain):
    tracker = tracker_of(events[:600], domain)
    tracker.applied_events()
    for extra in ([UserUtteranceReverted()], [ActiveLoop("another_form"), ActionExecuted("another_form")]):
        tracker = tracker_of(events[:600] + extra, domain)
        assert tracker.applied_events() == RASA_APPLIED_EVENTS(tracker)


@pytest.mark.usefixtures("patched_applied_events")
def test_applied_events_of_a_temporary_copy_and_of_the_tracker_after_it_are_rasas(events, domain):
    from rasa.shared.core.events import SlotSet

    for tracker in (tracker_of(events[:600], domain),  # the turn's tracker
                    tracker_of(events[:600] + [SlotSet("requested_slot", "location")], domain),  # a copy for a form
                    tracker_of(events[:610], domain)):  # the tracker after the action
        assert tracker.applied_events() == RASA_APPLIED_EVENTS(tracker)
    kept = rasa_patches._APPLIED.get("recorded").kept
    assert [len(entry.events) for entry in kept] == [610, 601]


# ------------------------------------------------------------------------ 6. policy states
@pytest.mark.usefixtures("patched_applied_events")
@pytest.mark.parametrize("ignore_rule_only_turns,rule_only_data", [(False, None), (True, RULE_ONLY)])
def test_the_policy_states_are_the_end_of_rasas_states(events, domain, ignore_rule_only_turns, rule_only_data):
    shorter = 0
    for end in boundaries(events, every=2):
        tracker = tracker_of(events[:end], domain)
        ours = rasa_patches.recent_states(domain, tracker, False, ignore_rule_only_turns, rule_only_data)
        rasas = RASA_STATES(domain, tracker, False, ignore_rule_only_turns, rule_only_data)
        assert len(ours) >= min(rasa_patches.STATES_KEPT, len(rasas))
        assert ours == rasas[-len(ours):]
        shorter += len(ours) < len(rasas)
    if not ignore_rule_only_turns:  # with rule turns hidden, this conversation has 2 states in all
        assert shorter > len(boundaries(events, every=2)) / 2


@pytest.mark.usefixtures("patched_applied_events")
@pytest.mark.parametrize("ignore_rule_only_turns,rule_only_data", [(False, None), (True, RULE_ONLY)])
def test_a_prediction_does_as_much_work_at_the_hundredth_message_as_at_the_fiftieth(
        events, domain, monkeypatch, ignore_rule_only_turns, rule_only_data):
    work = {"states": 0, "replayed": 0}
    rasas_state, rasas_update = Domain.get_active_state, DialogueStateTracker.update

    def counted_state(self, tracker, **kwargs):
        work["states"] += 1
        return rasas_state(self, tracker, **kwargs)

    def counted_update(self, event, domain=None):
        work["replayed"] += 1
        return rasas_update(self, event, domain)

    def work_of_a_prediction(turns, states_of):
        prefix = user_turns(events, turns)
        trackers = [tracker_of(prefix[:end], domain) for end in boundaries(prefix)[-3:]]  # three predictions
        applied = RASA_APPLIED_EVENTS(trackers[-1])
        actions = [index for index, event in enumerate(applied) if isinstance(event, ActionExecuted)]
        work["recent"] = len(applied) - actions[-2 * rasa_patches.SNAPSHOT_SLACK]
        monkeypatch.setattr(Domain, "get_active_state", counted_state)
        monkeypatch.setattr(DialogueStateTracker, "update", counted_update)
        try:
            for tracker in trackers:
                work.update(states=0, replayed=0)
                states_of(tracker)
        finally:
            monkeypatch.setattr(Domain, "get_active_state", rasas_state)
            monkeypatch.setattr(DialogueStateTracker, "update", rasas_update)
        return dict(work)

    ours = lambda tracker: rasa_patches.recent_states(  # noqa: E731
        domain, tracker, False, ignore_rule_only_turns, rule_only_data)
    rasas = lambda tracker: RASA_STATES(domain, tracker, False, ignore_rule_only_turns, rule_only_data)  # noqa: E731
    at_50, at_100 = work_of_a_prediction(50, ours), work_of_a_prediction(100, ours)
    for work_then in (at_50, at_100):  # a replay of the last two slacks of actions at most
        assert work_then["states"] <= 2 * rasa_patches.SNAPSHOT_SLACK + 1
        assert work_then["replayed"] <= work_then["recent"]
    rasa_at_50, rasa_at_100 = work_of_a_prediction(50, rasas), work_of_a_prediction(100, rasas)
    if not ignore_rule_only_turns:
        assert rasa_at_100["states"] > 1.5 * rasa_at_50["states"]
    assert rasa_at_100["replayed"] > 1.5 * rasa_at_50["replayed"]


def test_the_longest_rule_fits_in_the_states_kept():
    rules = yaml.safe_load((ROOT / "dialogs" / "rules.yml").read_text(encoding="utf-8"))["rules"]
    longest = max(len(rule.get("steps") or []) for rule in rules)
    assert longest + 1 <= rasa_patches.STATES_KEPT  # + 1: the state before the rule's first step


def test_the_patched_featuriser_gives_the_policies_rasas_input(events, domain):
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer

    featurizer = MaxHistoryTrackerFeaturizer(max_history=None)
    patched = rasa_patches.make_prediction_states(MaxHistoryTrackerFeaturizer.prediction_states)
    for end in boundaries(events, every=40):
        tracker = tracker_of(events[:end], domain)
        for use_text in (False, True):
            ours = patched(featurizer, [tracker], domain, use_text_for_last_user_input=use_text)[0]
            rasas = MaxHistoryTrackerFeaturizer.prediction_states(
                featurizer, [tracker], domain, use_text_for_last_user_input=use_text)[0]
            assert ours == rasas[-len(ours):]


# ------------------------------------------------------------ 7. copies without a replay
def same_tracker(ours: DialogueStateTracker, rasas: DialogueStateTracker) -> None:
    assert list(ours.events) == list(rasas.events)
    assert {name: vars(slot) for name, slot in ours.slots.items()} == {
        name: vars(slot) for name, slot in rasas.slots.items()}
    shared = {"events", "slots"}
    assert {k: v for k, v in vars(ours).items() if k not in shared} == {
        k: v for k, v in vars(rasas).items() if k not in shared}
    assert ours.current_state() == rasas.current_state()


def test_a_tracker_copied_without_a_replay_is_rasas_copy(events, domain):
    for end in boundaries(events, every=5):
        tracker = tracker_of(events[:end], domain)
        tracker.model_id = "a-model"  # the processor's trackers have one; a copy does not
        twin, copy = rasa_patches.tracker_twin(tracker), DialogueStateTracker.copy(tracker)
        same_tracker(twin, copy)
        assert all(a is b for a, b in zip(twin.events, copy.events))
        twin.update(ActionExecuted("action_listen"))
        assert len(tracker.events) == end and tracker.latest_action_name == copy.latest_action_name
        assert all(slot is not tracker.slots[name] for name, slot in twin.slots.items())


def test_a_replay_starts_from_rasas_initial_copy(events, domain):
    for end in boundaries(events, every=25):
        tracker = tracker_of(events[:end], domain)
        ours, rasas = rasa_patches.initial_copy(tracker), tracker.init_copy()
        same_tracker(ours, rasas)
        assert type(ours.slots) is type(rasas.slots)
        assert all(slot is not tracker.slots[name] for name, slot in ours.slots.items())
        assert any(slot.value != slot.initial_value for slot in tracker.slots.values())  # a reset that matters


def test_the_forms_temporary_tracker_is_rasas(events, domain):
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.events import SlotSet

    form = FormAction("report_form", None)
    ours = rasa_patches.make_temporary_tracker(FormAction._temporary_tracker)
    extra = [SlotSet("location", "dekat pasar"), ActionExecuted("action_listen")]
    from rasa.shared.core.events import Restarted

    restarted = tracker_of(events[:300] + [Restarted()] + events[300:320], domain)  # only what follows counts
    for tracker in [tracker_of(events[:end], domain) for end in boundaries(events, every=25)] + [restarted]:
        same_tracker(ours(form, tracker, extra, domain), FormAction._temporary_tracker(form, tracker, extra, domain))
