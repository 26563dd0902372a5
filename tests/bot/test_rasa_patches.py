import numpy as np
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches
from tests.support.http import loopback_route


VALIDATE = rasa_patches.make_validate_action_result(RemoteAction._validate_action_result)


def test_a_valid_action_answer_passes_the_cached_validator():
    action = RemoteAction("action_greet", None)
    answer = {"events": [{"event": "slot", "name": "requested_slot", "value": None}],
              "responses": [{"response": "utter_greet"}]}
    assert VALIDATE(action, answer) is True
    assert VALIDATE(action, answer) is True


def test_an_invalid_action_answer_still_raises_rasas_validation_error():
    action = RemoteAction("action_greet", None)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        VALIDATE(action, {"events": [{"no_event_key": 1}], "responses": "nope"})


SAMPLE_ANSWERS = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "location", "value": "Bandung", "timestamp": None}], "responses": []},
    {"events": [{"event": "slot", "name": 5, "value": "x"}], "responses": []},
    {"events": [{"event": "active_loop", "name": "report_form"}, {"event": "followup", "name": "action_listen"}]},
    {"events": [{"event": "user", "text": "halo", "parse_data": {"intent": {"name": "greet", "confidence": 1}}}]},
    {"events": [{"event": "user", "text": 7}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "requested_slot"}]},
    {"events": ["slot"]},
    {"events": [{"event": "bot", "text": "Halo", "timestamp": "kemarin"}]},
    {"events": [{"event": "session_started", "metadata": {"channel": "telegram"}}], "responses": [{"text": "x"}]},
    {"events": [{"event": "reset_slots"}], "responses": ["not an object"]},
    {"events": {"event": "slot"}},
    [],
]


@pytest.mark.parametrize("answer", SAMPLE_ANSWERS)
def test_the_per_event_validator_accepts_exactly_what_rasas_schema_accepts(answer):
    from jsonschema import validate

    schema = RemoteAction.action_response_format_spec()
    try:
        validate(answer, schema)
        rasa_accepts = True
    except ValidationError:
        rasa_accepts = False
    assert rasa_patches.by_event_name(schema).is_valid(answer) is rasa_accepts


def test_an_answer_with_an_unknown_event_raises_rasas_validation_error():
    action = RemoteAction("action_greet", None)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        VALIDATE(action, {"events": [{"event": "no_such_event"}], "responses": []})


def featurized(text, dense=False):
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import coo_matrix

    rng = np.random.default_rng(len(text))
    tokens = len(text.split())
    message = Message({"text": text})
    for origin, width in (("regex", 3), ("lexical", 12), ("words", 40), ("chars", 300)):
        for kind, rows in (("sequence", tokens), ("sentence", 1)):
            matrix = coo_matrix((rng.random((rows, width)) > 0.8).astype(float) * rng.integers(1, 4, (rows, width)))
            message.add_features(Features(matrix, kind, "text", origin))
    message.add_features(Features(coo_matrix(np.ones((1, 5))), "sentence", "intent", "words"))
    if dense:
        for origin in ("dense_a", "dense_b"):
            message.add_features(Features(rng.random((1, 4)), "sentence", "text", origin))
            message.add_features(Features(rng.random((tokens, 4)), "sequence", "text", origin))
    return message


@pytest.mark.parametrize("dense", [False, True])
def test_the_intent_classifier_sees_the_same_matrix_without_sequence_features(dense):
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    messages = [featurized(text, dense) for text in ("halo", "saya mau mengadu", "jalan di depan rumah saya rusak")]
    original = LogisticRegressionClassifier._create_X(None, messages)
    patched = rasa_patches.sentence_matrix(messages)
    assert patched.shape == original.shape == (3, 3 + 12 + 40 + 300 + (8 if dense else 0))
    assert (patched != original).nnz == 0
    assert patched.dtype == original.dtype


async def test_action_calls_reuse_one_connection_and_close_with_the_server():
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    connections = set()

    async def webhook(request):
        connections.add(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})

    original = EndpointConfig.session
    EndpointConfig.session = rasa_patches.shared_session
    try:
        async with loopback_route("POST", "/webhook", webhook) as base:
            endpoint = EndpointConfig(url=f"{base}/webhook")
            for _ in range(3):
                assert await endpoint.request(json={"next_action": "action_greet"}) == {"events": [], "responses": []}
            session = (await endpoint.session().__aenter__())
            await rasa_patches.close_shared_sessions()
    finally:
        EndpointConfig.session = original
    assert len(connections) == 1
    assert session.closed


async def test_the_loaded_model_is_frozen_out_of_garbage_collection(trained_model):
    """Patch 8: a full collection no longer walks the model (380 ms of CPU each in the server)."""
    import gc
    from types import SimpleNamespace

    from rasa.core import run
    from rasa.core.utils import AvailableEndpoints

    app = SimpleNamespace(ctx=SimpleNamespace())
    load = rasa_patches.make_load_agent_on_start(run.load_agent_on_start)
    gc.unfreeze()
    try:
        agent = await load(str(trained_model), AvailableEndpoints(), None, app, None)
        assert agent.is_ready() and app.ctx.agent is agent
        assert gc.get_freeze_count() > 100_000
        assert len(gc.get_objects(generation=2)) < gc.get_freeze_count() / 10
    finally:
        gc.unfreeze()
