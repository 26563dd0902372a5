import hashlib
import hmac

import pytest

from storage.identity import identity_hash, mask_address, parse_sender_id, sender_id

KEY = b"test-key"


def test_identity_hash_is_the_hmac_of_channel_and_user_id():
    expected = hmac.new(KEY, b"telegram:12345", hashlib.sha256).hexdigest()
    assert identity_hash(KEY, "telegram", "12345") == expected
    assert identity_hash("test-key", "telegram", "12345") == expected


def test_same_user_on_another_channel_or_key_gets_another_hash():
    base = identity_hash(KEY, "sms", "+6281234567890")
    assert identity_hash(KEY, "whatsapp", "+6281234567890") != base
    assert identity_hash(b"other", "sms", "+6281234567890") != base


def test_empty_key_is_refused():
    with pytest.raises(ValueError):
        identity_hash(b"", "sms", "+62812")


@pytest.mark.parametrize("channel", ["telegram", "sms", "whatsapp"])
def test_sender_id_round_trips_for_hashed_channels(channel):
    hashed = identity_hash(KEY, channel, "42")
    assert sender_id(channel, hashed) == f"{channel}-{hashed}"
    assert parse_sender_id(sender_id(channel, hashed), KEY) == (channel, hashed)


@pytest.mark.parametrize(
    "raw",
    ["default", "telegram-12345", "sms-" + "A" * 64, "facebook-" + "a" * 64, "whatsapp-" + "a" * 63, ""],
)
def test_any_other_sender_id_is_a_hashed_rest_user(raw):
    assert parse_sender_id(raw, KEY) == ("rest", identity_hash(KEY, "rest", raw))


@pytest.mark.parametrize(
    "address, masked",
    [
        ("+6281234567890", "+62812****7890"),
        ("whatsapp:+6281234567890", "whatsapp:+62812****7890"),
        ("123456789", "12****89"),
        ("1234", "****"),
        (None, "<none>"),
    ],
)
def test_masked_addresses_never_show_the_whole_number(address, masked):
    assert mask_address(address) == masked
