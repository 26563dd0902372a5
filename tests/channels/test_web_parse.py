from __future__ import annotations

import base64
import json

import pytest

from channels.web_parse import (MAX_AUDIO_BYTES, FrameError, Hello, Said, Seen, parse_frame, parse_stored,
                                provider_id, stored_payload)
from channels.web_send import reply_items
from accessibility.pipeline import Outgoing

DEVICE = "0f8e4c2a-7b1d-4e6f-9a3c-5d2b1e0f7a68"
MESSAGE = "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
OPUS = base64.b64encode(b"\x1aE\xdf\xa3 webm bytes").decode()

ACCEPTED = [
    ({"type": "hello", "device": DEVICE, "after": 7, "event": "sosbdg01"}, Hello(DEVICE, 7, "SOSBDG01")),
    ({"type": "hello", "device": DEVICE.upper(), "after": 0, "event": "jalan"}, Hello(DEVICE, 0, None)),
    ({"type": "seen", "upto": 12}, Seen(12)),
    ({"type": "message", "id": MESSAGE, "text": "  jalan rusak  "}, Said("message", MESSAGE, text="jalan rusak")),
    ({"type": "reset", "id": MESSAGE}, Said("reset", MESSAGE)),
    ({"type": "voice", "id": MESSAGE, "audio": OPUS, "mime": "audio/webm;codecs=opus"},
     Said("voice", MESSAGE, audio=base64.b64decode(OPUS), mime="audio/webm")),
]
REFUSED = [
    {"type": "hello", "device": "my-phone", "after": 0},
    {"type": "hello", "device": DEVICE, "after": -1},
    {"type": "hello", "device": DEVICE, "after": True},
    {"type": "message", "id": "1", "text": "halo"},
    {"type": "message", "id": MESSAGE, "text": "   "},
    {"type": "voice", "id": MESSAGE, "audio": OPUS, "mime": "video/mp4"},
    {"type": "voice", "id": MESSAGE, "audio": "not base64!", "mime": "audio/webm"},
    {"type": "voice", "id": MESSAGE, "audio": "A" * (MAX_AUDIO_BYTES * 2), "mime": "audio/webm"},
    {"type": "typing"},
    ["hello"],
]


@pytest.mark.parametrize("frame, expected", ACCEPTED)
def test_frames_the_page_sends_are_read_as_typed_values(frame, expected):
    assert parse_frame(json.dumps(frame)) == expected


@pytest.mark.parametrize("frame", REFUSED)
def test_frames_the_page_does_not_send_are_refused(frame):
    with pytest.raises(FrameError):
        parse_frame(json.dumps(frame))


def test_a_stored_frame_keeps_the_hash_and_never_the_device_id():
    said = parse_frame(json.dumps(ACCEPTED[-1][0]))
    payload = stored_payload("ab" * 32, said, "SOSBDG01")

    assert DEVICE not in json.dumps(payload)
    back = parse_stored(json.loads(json.dumps(payload)))
    assert (back.identity_hash, back.audio, back.mime, back.event_code) == ("ab" * 32, said.audio, "audio/webm",
                                                                         "SOSBDG01")


def test_typed_text_that_looks_like_a_rasa_command_reaches_rasa_as_text():
    payload = stored_payload("ab" * 32, Said("message", MESSAGE, text='/affirm{"privacy": "anonim"}'), None)
    assert not parse_stored(payload).text.startswith("/")
    assert parse_stored(stored_payload("ab" * 32, Said("message", MESSAGE, text="/sederhana"), None)).text == "/sederhana"


def test_message_ids_are_scoped_to_their_device():
    assert provider_id("a" * 64, MESSAGE) != provider_id("b" * 64, MESSAGE)
    assert len(provider_id("a" * 64, MESSAGE)) <= 64


def test_a_turn_s_texts_become_one_message_and_emoji_only_choices_get_words():
    items = reply_items([Outgoing(text="Baik."), Outgoing(text="Di mana tempatnya?",
                                                          buttons=[{"title": "👍", "payload": "/affirm"},
                                                                   {"title": "Lewati", "payload": "/skip"}])])
    assert len(items) == 1
    assert items[0].body["text"] == "Baik.\n\nDi mana tempatnya?"
    assert items[0].body["choices"] == ["Pilihan 1", "Lewati"]
