from __future__ import annotations

from twilio.request_validator import RequestValidator

from bot.cli import main

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "https://sapalapor.example.org/webhooks/sms/webhook"


def test_printed_signature_is_the_one_twilio_validates(capsys):
    assert main(["twilio-sign", URL, "From=+6281234567890", "Body=halo lapor", "MessageSid=SM1", "--token", TOKEN]) == 0

    signature = capsys.readouterr().out.strip()
    params = {"From": "+6281234567890", "Body": "halo lapor", "MessageSid": "SM1"}
    assert RequestValidator(TOKEN).validate(URL, params, signature)
    assert not RequestValidator(TOKEN).validate(URL, {**params, "Body": "lain"}, signature)


def test_curl_form_carries_the_signature_and_the_encoded_body(capsys):
    main(["twilio-sign", URL, "Body=halo lapor", "--token", TOKEN, "--curl"])

    command = capsys.readouterr().out
    assert "X-Twilio-Signature: " in command
    assert "Body=halo+lapor" in command
