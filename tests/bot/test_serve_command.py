"""``bot serve``: one process per container, wired to its peers, never open without its secret."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import yaml

from bot.commands import serve
from bot.rasa_project import ROOT, free_port, lock_store_config, wait_until_ready, write_endpoints
from bot.settings import ConfigError, load_settings

KEY = {"SAPALAPOR_IDENTITY_KEY": "k" * 32}


def _settings(**env):
    return load_settings(environ={**KEY, **env})


def test_a_server_off_loopback_is_refused_without_the_shared_action_token(monkeypatch):
    monkeypatch.delenv("SAPALAPOR_ACTION_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="SAPALAPOR_ACTION_TOKEN"):
        serve.command_for(_settings(), "actions", "0.0.0.0", 5055)


def test_the_gateway_needs_to_know_where_rasa_is():
    with pytest.raises(ConfigError, match="rasa-url"):
        serve.command_for(_settings(), "gateway", "0.0.0.0", 5005)


def test_rasa_off_loopback_serves_its_http_api_only_with_a_token(monkeypatch, tmp_path):
    monkeypatch.setenv("SAPALAPOR_ACTION_TOKEN", "t" * 32)
    monkeypatch.setattr(serve, "ensure_model", lambda settings: tmp_path / "model.tar.gz")
    monkeypatch.delenv(serve.RASA_API_TOKEN_ENV, raising=False)
    args = dict(action_url="http://sapalapor-actions:5055/webhook", runtime_dir=tmp_path)
    open_command = serve.command_for(_settings(), "rasa", "0.0.0.0", 5006, **args)
    assert "--enable-api" not in open_command
    monkeypatch.setenv(serve.RASA_API_TOKEN_ENV, "api-secret")
    guarded = serve.command_for(_settings(), "rasa", "0.0.0.0", 5006, **args)
    assert guarded[guarded.index("--enable-api") + 1:guarded.index("--enable-api") + 3] == ["--auth-token", "api-secret"]
    endpoints = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://sapalapor-actions:5055/webhook"
    assert endpoints["action_endpoint"]["headers"] == {"Authorization": "Bearer " + "t" * 32}


def test_the_gateway_process_never_sees_the_action_token(monkeypatch):
    monkeypatch.setenv("SAPALAPOR_ACTION_TOKEN", "t" * 32)
    assert "SAPALAPOR_ACTION_TOKEN" not in serve.child_environment("gateway")
    assert serve.child_environment("actions")["SAPALAPOR_ACTION_TOKEN"] == "t" * 32


@pytest.mark.parametrize("url, expected", [
    ("redis://cache:6380/2", {"type": "bot.lock_store.LeasedRedisLockStore", "url": "cache", "port": 6380, "db": 2,
                              "key_prefix": "sapalapor"}),
    ("redis://:s3cret@cache", {"type": "bot.lock_store.LeasedRedisLockStore", "url": "cache", "port": 6379,
                               "password": "s3cret", "key_prefix": "sapalapor"}),
    ("rediss://user:pw@cache:6390/0", {"type": "bot.lock_store.LeasedRedisLockStore", "url": "cache", "port": 6390,
                                       "db": 0, "username": "user", "password": "pw", "use_ssl": True,
                                       "key_prefix": "sapalapor"}),
])
def test_a_redis_url_becomes_rasas_lock_store_settings(url, expected):
    assert lock_store_config(url) == expected


def test_a_lock_store_that_is_not_redis_is_refused():
    with pytest.raises(ValueError, match="redis"):
        lock_store_config("postgresql://db/locks")


def test_endpoints_name_the_lock_store_only_when_one_is_configured(tmp_path):
    plain = yaml.safe_load(write_endpoints(_settings(), "http://a/webhook", tmp_path / "a").read_text())
    assert "lock_store" not in plain
    shared = yaml.safe_load(write_endpoints(
        _settings(SAPALAPOR_REDIS_URL="redis://cache:6379/1"), "http://a/webhook", tmp_path / "b").read_text())
    assert shared["lock_store"]["type"] == "bot.lock_store.LeasedRedisLockStore"
    assert shared["lock_store"]["url"] == "cache"


async def test_two_rasa_servers_sharing_the_redis_lock_store_run_one_conversations_turns_one_at_a_time(redis_url):
    import asyncio

    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    def replica():
        return LockStore.create(EndpointConfig.from_dict(lock_store_config(redis_url)))

    first, second = replica(), replica()
    assert isinstance(first, RedisLockStore) and isinstance(second, RedisLockStore)
    order = []

    async def turn(store, name):
        async with store.lock("telegram-abc", wait_time_in_seconds=0.05):
            order.append(f"{name} start")
            await asyncio.sleep(0.3)
            order.append(f"{name} end")

    await asyncio.gather(turn(first, "a"), turn(second, "b"))
    assert order in (["a start", "a end", "b start", "b end"], ["b start", "b end", "a start", "a end"])


def test_the_action_server_started_by_serve_answers_its_health_check_and_refuses_strangers(tmp_path):
    port = free_port()
    env = dict(os.environ, **KEY, SAPALAPOR_ACTION_TOKEN="t" * 32, SAPALAPOR_DATA_DIR=str(tmp_path),
               SAPALAPOR_DATABASE_URL=f"sqlite:///{tmp_path / 'sapalapor.db'}")
    log_file = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "actions", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    finally:
        process.terminate()
        process.wait(30)
