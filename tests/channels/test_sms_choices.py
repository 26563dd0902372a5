from accessibility.pipeline import Outgoing
from channels.twilio_format import reply_texts
from channels.twilio_kinds import SMS

BUTTONS = [{"title": "Biasa", "payload": "/a"}, {"title": "Rahasia", "payload": "/b"}, {"title": "Anonim", "payload": "/c"}]


def test_a_text_that_already_lists_its_choices_is_not_given_the_list_twice_on_sms():
    text = "Siapa yang boleh melihat laporan ini?\nPilih:\n1. Biasa\n2. Rahasia\n3. Anonim"
    [message] = reply_texts(SMS, Outgoing(text=text, buttons=BUTTONS))
    assert message.count("Rahasia") == 1
    assert "Balas 1" not in message


def test_a_text_without_the_list_gets_the_choices_to_reply_with_on_sms():
    [message] = reply_texts(SMS, Outgoing(text="Siapa yang boleh melihat laporan ini?", buttons=BUTTONS))
    assert "Balas 2 untuk Rahasia" in message
