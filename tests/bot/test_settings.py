from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_secrets_come_from_the_environment(tmp_path):
    path = write_config(tmp_path, "channels:\n  telegram:\n    token: ${TOKEN}\n")
    settings = load_settings(path, environ={"TOKEN": "123:abc"})
    assert settings.section("channels.telegram").require("token") == "123:abc"


def test_a_missing_secret_is_reported_with_its_key_and_variable_only_when_needed(tmp_path):
    path = write_config(tmp_path, "channels:\n  telegram:\n    enabled: false\n    token: ${TOKEN}\n")
    settings = load_settings(path, environ={})
    assert settings.channel_enabled("telegram") is False
    with pytest.raises(ConfigError, match=r"channels\.telegram\.token needs the environment variable TOKEN"):
        settings.section("channels.telegram").require("token")


def test_fallbacks_apply_when_the_variable_is_unset_or_empty(tmp_path):
    path = write_config(tmp_path, "server:\n  port: ${PORT:-5005}\n  public_url: ${URL:-}\n")
    assert load_settings(path, environ={"PORT": ""}).section("server").get("port", kind=int) == 5005
    assert load_settings(path, environ={"PORT": "6006"}).section("server").get("port", kind=int) == 6006
    assert load_settings(path, environ={}).section("server").has("public_url") is False


def test_an_invalid_value_names_the_key_and_the_expected_type(tmp_path):
    path = write_config(tmp_path, "server:\n  port: lima\nchannels:\n  sms:\n    enabled: mungkin\n")
    settings = load_settings(path, environ={})
    with pytest.raises(ConfigError, match=r"server\.port: 'lima' is not a valid int"):
        settings.section("server").get("port", kind=int)
    with pytest.raises(ConfigError, match=r"channels\.sms\.enabled"):
        settings.channel_enabled("sms")


def test_relative_sqlite_urls_are_anchored_at_the_repository(tmp_path):
    path = write_config(tmp_path, "database:\n  url: sqlite:///data/x.db\ntracker_store:\n  url: postgresql://u@h/db\n")
    settings = load_settings(path, environ={})
    assert settings.database_url == f"sqlite:///{settings.base_dir.resolve() / 'data' / 'x.db'}"
    assert settings.tracker_store_url == "postgresql://u@h/db"


def test_a_short_identity_key_is_rejected(tmp_path):
    path = write_config(tmp_path, "identity:\n  hash_key: ${KEY}\n")
    with pytest.raises(ConfigError, match="at least 16"):
        load_settings(path, environ={"KEY": "short"}).identity_key


def test_broken_yaml_names_the_file(tmp_path):
    path = write_config(tmp_path, "server: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path, environ={})


def test_the_shipped_config_loads_with_only_the_identity_key_set():
    settings = load_settings(environ={"SAPALAPOR_IDENTITY_KEY": "k" * 32})
    assert settings.identity_key == b"k" * 32
    assert settings.channel_enabled("rest") is True
    assert not any(settings.channel_enabled(name) for name in ("telegram", "sms", "whatsapp"))
    assert settings.database_url.startswith("sqlite:////")


def test_the_whatsapp_status_template_is_typed_once_and_a_bad_one_names_its_key(tmp_path):
    good = load_settings(write_config(tmp_path, """
channels:
  whatsapp:
    status_template:
      content_sid: HX0123456789abcdef0123456789abcdef
      variables: {"2": status_text, "1": tracking_number}
"""), environ={})
    template = good.whatsapp_status_template
    assert (template.content_sid, template.variables) == (
        "HX0123456789abcdef0123456789abcdef", (("1", "tracking_number"), ("2", "status_text")))
    assert good.whatsapp_status_template is template  # built once
    unset = load_settings(write_config(tmp_path, "channels:\n  whatsapp:\n    status_template:\n      content_sid: ''\n"),
                          environ={})
    assert unset.whatsapp_status_template is None
    for bad, key in (("content_sid: SM123", "content_sid"),
                     ("content_sid: HX0123456789abcdef0123456789abcdef\n      variables: {\"1\": phone}", "variables")):
        settings = load_settings(write_config(tmp_path, f"channels:\n  whatsapp:\n    status_template:\n      {bad}\n"),
                                 environ={})
        with pytest.raises(ConfigError, match=f"channels.whatsapp.status_template.{key}"):
            settings.whatsapp_status_template


def test_telegram_webhooks_need_a_public_url_and_a_secret(tmp_path):
    config = write_config(tmp_path, "server:\n  public_url: ${URL:-}\nchannels:\n  telegram:\n    token: T\n"
                                    "    mode: webhook\n    webhook_secret: ${SECRET:-}\n")
    with pytest.raises(ConfigError, match="server.public_url"):
        load_settings(config, environ={}).telegram
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings(config, environ={"URL": "https://example.org"}).telegram
    assert load_settings(config, environ={"URL": "https://example.org", "SECRET": "s_1"}).telegram.mode == "webhook"
