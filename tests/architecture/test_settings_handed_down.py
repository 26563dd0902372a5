"""Lower modules get their settings from the entry point of their process (issue 15, point 4).

The layer test checks that they do not import the loader; these check that the entry points do
hand the values over, and that a module used without them says so instead of guessing.
"""
from __future__ import annotations

import pytest

from bot.settings import load_settings

KEY = "test-identity-key-handed-down-0123456789"


@pytest.fixture
def relay_input():
    from channels.relay import RelayInput

    RelayInput.expect_token(None)
    yield RelayInput
    RelayInput.expect_token(None)


def test_the_relay_channel_is_not_built_without_the_token_from_its_entry_point(relay_input):
    with pytest.raises(RuntimeError, match="bot.rasa_server"):
        relay_input.from_credentials({})


def test_the_rasa_server_entry_point_hands_the_relay_the_gateways_token(relay_input, monkeypatch):
    from bot.rasa_server import configure_relay
    from channels.relay import relay_token

    monkeypatch.setenv("SAPALAPOR_IDENTITY_KEY", KEY)
    configure_relay()
    channel = relay_input.from_credentials({})  # what Rasa calls for credentials.yml's entry
    assert channel._expected == f"Bearer {relay_token(KEY.encode())}".encode()


def test_the_actions_runtime_serves_only_the_settings_its_entry_point_configured(monkeypatch):
    from bot.actions import runtime

    monkeypatch.setenv("SAPALAPOR_IDENTITY_KEY", KEY)
    runtime.reset_for_tests()
    try:
        with pytest.raises(RuntimeError, match="runtime.configure"):
            runtime.settings()
        loaded = load_settings()
        runtime.configure(loaded)
        assert runtime.settings() is loaded
    finally:
        runtime.reset_for_tests()


def test_the_channel_addresses_are_read_once_and_shown_without_the_whatsapp_prefix(monkeypatch):
    from bot.outreach.entry_points import entry_points

    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@SapaLaporBot")
    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+6281234567890")
    monkeypatch.delenv("SAPALAPOR_WHATSAPP_NUMBER_DISPLAY", raising=False)
    monkeypatch.delenv("SAPALAPOR_SMS_NUMBER_DISPLAY", raising=False)
    monkeypatch.delenv("TWILIO_SMS_FROM", raising=False)
    settings = load_settings()
    assert settings.channel_addresses is settings.channel_addresses
    entry = entry_points(settings.channel_addresses, "SOSBDG01")
    assert entry.telegram_username == "SapaLaporBot" and entry.whatsapp_number == "+6281234567890"
    assert entry.sms_number is None and entry.missing == [
        "channels.sms.number_display (SAPALAPOR_SMS_NUMBER_DISPLAY)"]
