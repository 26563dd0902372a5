from __future__ import annotations

import pytest

from accessibility.profiles import Preferences, ProfileStore, defaults_from_settings
from bot.settings import ConfigError
from storage.db import Database
from storage.repositories import ProfileRepository
from tests.accessibility.conftest import make_settings
from tests.support.sql import transactions

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


def test_a_profile_read_once_is_served_from_memory_until_forgotten(database):
    store = ProfileStore(database)
    store.update("telegram", USER, simple_language=True)
    with database.session() as session:  # another process (the action server) changes it
        ProfileRepository(session).update("telegram", USER, voice_replies=True)

    with transactions(database) as seen:
        remembered = store.get("telegram", USER)
    store.forget("telegram", USER)
    fresh = store.get("telegram", USER)

    assert seen == []
    assert (remembered.simple_language, remembered.voice_replies) == (True, False)
    assert (fresh.simple_language, fresh.voice_replies) == (True, True)


def test_only_a_remembered_profile_is_offered_without_asking_the_database(database):
    store = ProfileStore(database)
    never_read = store.cached("whatsapp", USER)
    store.get("whatsapp", USER)
    with transactions(database) as seen:
        remembered = store.cached("whatsapp", USER)
    store.forget("whatsapp", USER)

    assert never_read is None
    assert remembered == Preferences() and seen == []
    assert store.cached("whatsapp", USER) is None


def test_a_write_is_seen_by_every_store_on_the_database_and_after_a_restart(database):
    ProfileStore(database).get("sms", USER)
    ProfileStore(database).update("sms", USER, speech_rate="slow")

    with transactions(database) as seen:
        other_store = ProfileStore(database).get("sms", USER)
    restarted = Database(str(database.url))
    try:
        after_restart = ProfileStore(restarted).get("sms", USER)
    finally:
        restarted.dispose()

    assert seen == []
    assert other_store.speech_rate == after_restart.speech_rate == "slow"


def test_loading_inside_a_callers_transaction_spares_the_next_read(database):
    store = ProfileStore(database, Preferences(simple_language=True))
    with database.session() as session:
        loaded = store.load(session, "whatsapp", USER)

    with transactions(database) as seen:
        again = store.get("whatsapp", USER)

    assert seen == []
    assert loaded == again == Preferences(simple_language=True)


def test_a_failed_write_leaves_no_remembered_copy_behind(database):
    store = ProfileStore(database)
    store.update("sms", USER, simple_language=True)
    with pytest.raises(ValueError):
        store.update("sms", USER, speech_rate="fast")

    with transactions(database) as seen:
        assert store.get("sms", USER).simple_language is True
    assert seen == [1]
