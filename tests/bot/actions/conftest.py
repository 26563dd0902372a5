from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from storage.db import Database

DOMAIN_PATH = "bot/domain.yml"


def configure_runtime() -> None:
    """What the action server's entry point does at start-up: the settings from this test's
    environment (data dir, database URL, SAPALAPOR_CONFIG) handed to the actions' runtime."""
    from bot.settings import load_settings

    runtime.reset_for_tests()
    runtime.configure(load_settings())


@pytest.fixture
def database(tmp_path, monkeypatch) -> Database:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'sapalapor.db'}"
    monkeypatch.setenv("SAPALAPOR_DATA_DIR", str(data))
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", url)
    monkeypatch.setenv("SAPALAPOR_IDENTITY_KEY", "test-identity-key-for-actions-0123456789")
    configure_runtime()
    database = runtime.database()
    yield database
    runtime.reset_for_tests()
    database.dispose()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    import yaml

    from bot.settings import ROOT

    return yaml.safe_load((ROOT / DOMAIN_PATH).read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def user_message(text: str, intent: Optional[str] = None, entities: Optional[list] = None,
                 metadata: Optional[dict] = None) -> Dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
        "metadata": metadata or {},
    }


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    text: str = "",
    intent: Optional[str] = None,
    entities: Optional[list] = None,
    metadata: Optional[dict] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = "report_form",
    sender_id: str = "reporter-1",
) -> Tracker:
    """A tracker as the action server receives it right after the user's message."""
    latest = user_message(text, intent, entities, metadata)
    if events is None:
        events = [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}},
            {"event": "action", "name": "action_extract_slots"},
        ]
    return Tracker(
        sender_id,
        dict(slots or {}),
        latest,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> List[Optional[str]]:
    return [message.get("response") for message in dispatcher.messages]
