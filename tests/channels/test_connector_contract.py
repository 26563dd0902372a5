from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.shared.utils.common import class_from_module_path

from channels.connector import Connector, Served
from channels.gateway import CONNECTORS, EXPORT_API

CHANNELS = Path(__file__).resolve().parents[2] / "channels"
# Rasa hosts these itself (the gateway's turns arrive through the relay; the local chat is the
# REST channel), so they stay Rasa input channels, named in the generated credentials.
RASA_HOSTED = {"RelayInput", "RestWithChoices"}
CONTRACT = {"Served", "Connector"}  # channels/connector.py: the protocols themselves


@pytest.mark.parametrize("path", sorted(CONNECTORS.values()))
def test_every_messaging_connector_keeps_the_contract(path):
    cls = class_from_module_path(path)
    for method in ("from_runtime", "name", "blueprint", "start", "stop", "send"):
        assert callable(getattr(cls, method, None)), f"{path} has no {method}"
    for method in ("start", "stop", "send"):
        assert inspect.iscoroutinefunction(getattr(cls, method)), f"{path}.{method} must be async"
    assert list(inspect.signature(cls.send).parameters) == ["self", "address", "replies"]
    assert issubclass(cls, Connector)
    assert not issubclass(cls, (InputChannel, OutputChannel)), f"{path} still subclasses a Rasa channel"


def test_the_export_api_is_served_without_being_a_rasa_channel():
    cls = class_from_module_path(EXPORT_API)
    assert issubclass(cls, Served) and not issubclass(cls, InputChannel)


def test_no_connector_class_is_unused():
    served = {path.rsplit(".", 1)[1] for path in [*CONNECTORS.values(), EXPORT_API]}
    defined = set()
    for path in CHANNELS.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(isinstance(item, ast.FunctionDef) and item.name == "blueprint"
                                                      for item in node.body):
                defined.add(node.name)
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                assert "OutputChannel" not in bases, f"{path.name}: {node.name} is a Rasa output channel nobody uses"
    # TwilioInput is the shared base of SmsInput and WhatsAppInput, which the gateway serves.
    assert defined - served - RASA_HOSTED - CONTRACT <= {"TwilioInput"}
