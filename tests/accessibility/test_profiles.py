from __future__ import annotations

import pytest

from accessibility.profiles import Preferences, ProfileStore, defaults_from_settings
from bot.settings import ConfigError
from tests.accessibility.conftest import make_settings

USER = "d" * 64


def test_someone_never_seen_gets_the_configured_defaults_without_a_row(database, tmp_path):
    defaults = defaults_from_settings(make_settings(tmp_path, defaults={"simple_language": True, "speech_rate": "slow"}))
    store = ProfileStore(database, defaults)
    assert store.get("sms", USER) == Preferences(simple_language=True, speech_rate="slow")


def test_an_update_creates_the_profile_from_the_defaults_and_keeps_other_fields(database):
    store = ProfileStore(database, Preferences(simple_language=True))
    store.update("sms", USER, voice_replies=True)
    assert store.get("sms", USER) == Preferences(voice_replies=True, simple_language=True, voice_chosen=True)
    store.update("sms", USER, speech_rate="slow")
    assert store.get("sms", USER).voice_replies is True
    assert store.get("telegram", USER) == Preferences(simple_language=True)


def test_a_disability_is_stored_only_with_consent_and_never_sent_to_rasa(database):
    store = ProfileStore(database)
    with pytest.raises(ValueError):
        store.update("sms", USER, disability="tunanetra")
    profile = store.update("sms", USER, disability="tunanetra", disability_consent=True)
    assert profile.disability == "tunanetra"
    assert "disability" not in profile.as_metadata()
    assert store.update("sms", USER, disability_consent=False).disability is None


def test_a_bad_speech_rate_in_config_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="accessibility.defaults.speech_rate"):
        defaults_from_settings(make_settings(tmp_path, defaults={"speech_rate": "fast"}))
