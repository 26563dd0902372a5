"""nginx in front of each kind of replica: its configuration, and a private nginx process.

Why nginx (Debian's package): the issue asks for the load balancer a deployment would really
use, not one of our own. Three listeners, one per kind:
- the public one balances provider webhooks over the gateways. A POST may be retried on
  another gateway after an error (``non_idempotent``): the inbound log's unique key makes a
  delivery that reached two gateways count once;
- Rasa's balances the gateways' relayed turns over the Rasa servers, also retried: the
  delivery id travels as Rasa's message id and a turn already in the tracker is answered from
  its stored replies;
- the actions' balances Rasa's action calls, retried only when the call never reached a
  server (an action is not idempotent).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from bot.cluster.processes import stop_process


class NginxUnavailable(RuntimeError):
    """nginx is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Balanced:
    """One listener of nginx: ``port`` on loopback, spread over ``backends`` (host:port)."""

    name: str
    port: int
    backends: Sequence[str]
    retry_posts: bool
    # The largest request body nginx passes on, as the backend's own cap (nginx answers 413 above it).
    max_body_bytes: int = 1024 * 1024


def render(prefix: Path, listeners: Sequence[Balanced], run_as_root: bool = False) -> str:
    """nginx.conf for the listeners, every path inside ``prefix`` (nothing in /etc or /var)."""
    temp = {kind: prefix / "tmp" / kind for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    lines = [
        *(["user root root;"] if run_as_root else []),
        "worker_processes 1;",
        "daemon off;",
        f"pid {prefix / 'nginx.pid'};",
        f"error_log {prefix / 'error.log'} warn;",
        "events { worker_connections 2048; }",
        "http {",
        # Which replica answered: the cluster tests read it to see turns spread over replicas.
        "  log_format balanced '$server_port $request_method $uri $status $upstream_addr';",
        f"  access_log {prefix / 'access.log'} balanced;",
        f"  client_body_temp_path {temp['body']};",
        f"  proxy_temp_path {temp['proxy']};",
        f"  fastcgi_temp_path {temp['fastcgi']};",
        f"  uwsgi_temp_path {temp['uwsgi']};",
        f"  scgi_temp_path {temp['scgi']};",
    ]
    for listener in listeners:
        lines.append(f"  upstream {listener.name} {{")
        # max_fails=0: a backend is never marked down. With marks, a start-up probe before the
        # replicas listen marks every backend down; nginx then lets one request through as a
        # probe and answers the others 502 "no live upstreams", which providers see as errors.
        # Unmarked, a dead replica costs a refused connect on loopback and the next one is tried.
        lines += [f"    server {backend} max_fails=0;" for backend in listener.backends]
        lines += ["    keepalive 32;", "  }"]
    for listener in listeners:
        retry = "error timeout http_502 http_503" + (" non_idempotent" if listener.retry_posts else "")
        lines += [
            "  server {",
            f"    listen 127.0.0.1:{listener.port};",
            # As the backend's own cap (the gateway's MAX_REQUEST_BYTES, a speech server's
            # max_body_bytes): refused here first.
            f"    client_max_body_size {listener.max_body_bytes};",
            "    location / {",
            f"      proxy_pass http://{listener.name};",
            "      proxy_http_version 1.1;",
            '      proxy_set_header Connection "";',
            "      proxy_set_header Host $http_host;",
            "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "      proxy_set_header X-Forwarded-Proto $scheme;",
            f"      proxy_next_upstream {retry};",
            "      proxy_next_upstream_tries 3;",
            "      proxy_connect_timeout 2s;",
            "      proxy_read_timeout 180s;",
            "    }",
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_nginx(listeners: Sequence[Balanced], timeout: float = 20.0) -> Iterator[Path]:
    """Start a private nginx for ``listeners``; yields its folder (``access.log``); stops it on exit."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        raise NginxUnavailable("nginx is missing: apt-get install -y nginx (bot cluster and test.sh install it)")
    prefix = Path(tempfile.mkdtemp(prefix="sapalapor-nginx-"))
    for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True)
    config = prefix / "nginx.conf"
    config.write_text(render(prefix, listeners, run_as_root=os.geteuid() == 0), encoding="utf-8")
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=open(prefix / "stderr.log", "ab"))
    try:
        deadline = time.monotonic() + timeout
        probe = f"http://127.0.0.1:{listeners[0].port}/"
        while True:
            if process.poll() is not None:
                raise NginxUnavailable(f"nginx exited: {(prefix / 'stderr.log').read_text()[-800:]}")
            try:
                urllib.request.urlopen(probe, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # nginx answered (a backend said no, or none is up yet)
            except OSError:
                if time.monotonic() > deadline:
                    raise NginxUnavailable(f"nginx did not listen on {probe}") from None
                time.sleep(0.05)
        yield prefix
    finally:
        stop_process(process)
        shutil.rmtree(prefix, ignore_errors=True)
