"""nginx's configuration for the cluster: what may be retried on another replica, and what not."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cluster.nginx import Balanced, render

LISTENERS = [Balanced("gateways", 8000, ["127.0.0.1:8001", "127.0.0.1:8002"], True),
             Balanced("actions", 9000, ["127.0.0.1:9001"], False)]


def _server_block(config: str, port: int) -> str:
    return re.search(rf"listen 127\.0\.0\.1:{port};(.*?)\n  }}", config, re.S).group(1)


def test_webhooks_may_be_retried_on_another_gateway_but_action_calls_only_when_never_sent(tmp_path):
    config = render(tmp_path, LISTENERS)
    assert "non_idempotent" in _server_block(config, 8000)
    assert "non_idempotent" not in _server_block(config, 9000)


def test_every_replica_is_an_upstream_server_and_every_path_stays_in_the_prefix(tmp_path):
    config = render(tmp_path, LISTENERS)
    assert config.count("server 127.0.0.1:800") == 2 and config.count("server 127.0.0.1:9001") == 1
    paths = re.findall(r"(?:pid|error_log|access_log|_temp_path) (/\S+?)[;\s]", config)
    assert paths and all(Path(path).is_relative_to(tmp_path) for path in paths)


def test_nginx_itself_accepts_the_configuration(tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (bot cluster installs it)")
    for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / kind).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(render(tmp_path, LISTENERS, run_as_root=True))
    checked = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
