from channels.gateway import EXPORT_API, build_app, connector_paths
from tests.channels.harness import channel_environ, settings_for


def test_the_gateway_serves_the_enabled_channels_and_the_export_api_only_with_its_token(tmp_path):
    environ = channel_environ(tmp_path, SAPALAPOR_SMS_ENABLED="true", SAPALAPOR_TELEGRAM_ENABLED="false",
                              SAPALAPOR_WHATSAPP_ENABLED="false", SAPALAPOR_EXPORT_TOKEN="")
    assert connector_paths(settings_for(environ)) == ["channels.sms.SmsInput"]
    environ.update(SAPALAPOR_EXPORT_TOKEN="t" * 24)
    assert connector_paths(settings_for(environ)) == ["channels.sms.SmsInput", EXPORT_API]


def test_webhooks_keep_the_paths_providers_were_given(tmp_path, monkeypatch):
    environ = channel_environ(tmp_path, SAPALAPOR_SMS_ENABLED="true", SAPALAPOR_WHATSAPP_ENABLED="true",
                              SAPALAPOR_TELEGRAM_ENABLED="false", SAPALAPOR_EXPORT_TOKEN="t" * 24,
                              TWILIO_ACCOUNT_SID="AC00000000000000000000000000000001",
                              TWILIO_AUTH_TOKEN="0123456789abcdef0123456789abcdef",
                              TWILIO_SMS_FROM="+6281100001708", TWILIO_WHATSAPP_FROM="+14155238886")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = build_app(settings_for(environ), "http://127.0.0.1:9", name="gateway_paths_test")
    paths = {route.path.rstrip("/") for route in app.router.routes}
    assert {"webhooks/sms/webhook", "webhooks/whatsapp/webhook", "webhooks/export/reports"} <= paths
    assert not any(path.startswith("webhooks/rest") or path.startswith("conversations") for path in paths)
