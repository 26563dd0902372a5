import pytest

from storage.repositories import ProfileRepository

HASH = "c" * 64


def test_update_creates_the_profile_with_defaults(session):
    profiles = ProfileRepository(session)
    assert profiles.get("telegram", HASH) is None
    profile = profiles.update("telegram", HASH, voice_replies=True)
    assert (profile.voice_replies, profile.simple_language, profile.speech_rate) == (True, False, "normal")
    assert profiles.get("telegram", HASH).id == profile.id


def test_get_or_create_applies_defaults_only_once(session):
    profiles = ProfileRepository(session)
    created = profiles.get_or_create("sms", HASH, {"simple_language": True})
    again = profiles.get_or_create("sms", HASH, {"simple_language": False})
    assert again.id == created.id and again.simple_language is True


@pytest.mark.parametrize(
    "fields",
    [
        {"speech_rate": "fast"},
        {"voice": True},
        {"voice_replies": "yes"},
        {"id": 5},
        {"disability": "tunanetra"},
    ],
)
def test_invalid_updates_are_refused(session, fields):
    with pytest.raises(ValueError):
        ProfileRepository(session).update("telegram", HASH, **fields)


def test_disability_is_kept_only_with_consent(session):
    profiles = ProfileRepository(session)
    profile = profiles.update("whatsapp", HASH, disability="tunanetra", disability_consent=True)
    assert profile.disability == "tunanetra"
    profile = profiles.update("whatsapp", HASH, disability_consent=False)
    assert profile.disability is None


def test_slow_speech_rate_is_stored(session):
    assert ProfileRepository(session).update("telegram", HASH, speech_rate="slow").speech_rate == "slow"


def test_an_explicit_voice_choice_is_kept_against_an_automatic_switch(session):
    profiles = ProfileRepository(session)
    assert profiles.update("whatsapp", "d" * 64, voice_replies=False).voice_chosen is True
    assert profiles.update("whatsapp", "d" * 64, automatic=True, voice_replies=True).voice_replies is False
    fresh = profiles.update("sms", "e" * 64, automatic=True, voice_replies=True)
    assert (fresh.voice_replies, fresh.voice_chosen) == (True, False)


def test_last_choices_must_be_buttons(session):
    profiles = ProfileRepository(session)
    with pytest.raises(ValueError, match="last_choices"):
        profiles.update("sms", "f" * 64, last_choices=["1", "2"])
    stored = profiles.update("sms", "f" * 64, last_choices=[{"title": "Ya", "payload": "/affirm"}])
    assert stored.last_choices == [{"title": "Ya", "payload": "/affirm"}]


def test_set_choices_creates_the_profile_with_defaults_and_later_changes_only_the_choices(session):
    repository = ProfileRepository(session)
    buttons = [{"title": "Pengaduan", "payload": "/pengaduan"}]
    repository.set_choices("telegram", "c" * 64, buttons, defaults={"simple_language": True})
    session.expire_all()
    created = repository.get("telegram", "c" * 64)
    assert (created.last_choices, created.simple_language, created.voice_replies, created.speech_rate) == (
        buttons, True, False, "normal")
    assert (created.created_at.minute, created.created_at.second) == (0, 0)  # kept to the hour

    repository.update("telegram", "c" * 64, speech_rate="slow")
    repository.set_choices("telegram", "c" * 64, None, defaults={"simple_language": False})
    session.expire_all()
    changed = repository.get("telegram", "c" * 64)
    assert (changed.last_choices, changed.simple_language, changed.speech_rate) == (None, True, "slow")
    assert repository.values("telegram", "c" * 64)["last_choices"] is None


def test_set_choices_refuses_what_is_not_buttons(session):
    with pytest.raises(ValueError):
        ProfileRepository(session).set_choices("telegram", "d" * 64, ["Pengaduan"])
