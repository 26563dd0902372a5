import shutil

import yaml

from bot import rasa_project
from bot.settings import load_settings


def test_tracker_store_config_splits_a_postgres_url_into_rasa_fields():
    config = rasa_project.tracker_store_config("postgresql+psycopg2://lapor:rahasia@db.local:5433/tracker")
    assert config == {
        "type": "bot.tracker_store.CachedSQLTrackerStore",
        "dialect": "postgresql+psycopg2",
        "url": "db.local",
        "port": 5433,
        "db": "tracker",
        "username": "lapor",
        "password": "rahasia",
    }


def test_tracker_store_config_for_sqlite_creates_the_folder(tmp_path):
    config = rasa_project.tracker_store_config(f"sqlite:///{tmp_path}/nested/tracker.db")
    assert config == {
        "type": "bot.tracker_store.CachedSQLTrackerStore", "dialect": "sqlite", "db": f"{tmp_path}/nested/tracker.db",
    }
    assert (tmp_path / "nested").is_dir()


def test_the_rasa_server_gets_the_rest_channel_and_the_gateway_relay_only(tmp_path):
    settings = load_settings(environ={"SAPALAPOR_IDENTITY_KEY": "k" * 32, "SAPALAPOR_SMS_ENABLED": "true"})
    path = rasa_project.write_credentials(settings, tmp_path)
    assert yaml.safe_load(path.read_text()) == {"channels.rest.RestWithChoices": None, "channels.relay.RelayInput": {}}


def test_the_fingerprint_changes_with_the_training_data_and_not_with_test_stories(tmp_path, monkeypatch):
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "nlu.yml").write_text("version: '3.1'\nnlu: []\n")
    (dialogs / "test_stories.yml").write_text("version: '3.1'\nstories: []\n")
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    (bot_dir / "config.yml").write_text("language: id\n")
    (bot_dir / "domain.yml").write_text("version: '3.1'\n")
    monkeypatch.setattr(rasa_project, "ROOT", tmp_path)
    monkeypatch.setattr(rasa_project, "DIALOGS_DIR", dialogs)
    monkeypatch.setattr(rasa_project, "MODEL_CONFIG", bot_dir / "config.yml")
    monkeypatch.setattr(rasa_project, "DOMAIN", bot_dir / "domain.yml")

    assert [path.name for path in rasa_project.training_files()] == ["nlu.yml"]
    before = rasa_project.fingerprint()
    (dialogs / "test_stories.yml").write_text("version: '3.1'\nstories: [changed]\n")
    assert rasa_project.fingerprint() == before
    (dialogs / "nlu.yml").write_text("version: '3.1'\nnlu: [changed]\n")
    assert rasa_project.fingerprint() != before
