"""Start N replicas of each SapaLapor server behind nginx, on shared PostgreSQL and Redis.

The same wiring as deploy/k8s, on loopback: the providers reach nginx's public port, nginx
spreads webhooks over the gateways, the gateways' turns over the Rasa servers, Rasa's action
calls over the action servers, the gateways' voice notes over the speech servers (issue 19:
speech-to-text as a service, so voice load scales apart from text; no gateway starts a speech
worker of its own). Every Rasa server uses the SQL tracker store on PostgreSQL and the Redis
lock store, so the turns of one conversation run one at a time whichever replica receives them;
every process uses the same PostgreSQL database.
"""
from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from bot.action_server import TOKEN_ENV as ACTION_TOKEN_ENV
from accessibility.speech_service import max_body_bytes
from bot.cluster.nginx import Balanced, running_nginx
from bot.cluster.processes import stop_process
from bot.rasa_project import ROOT, _rasa_env, free_port, wait_until_ready, write_credentials, write_endpoints
from bot.settings import Settings, load_settings

KINDS = ("speech", "actions", "rasa", "gateway")
HEALTH = {"speech": "/health", "actions": "/health", "rasa": "/", "gateway": "/"}
SPEECH_URL_ENV = "SAPALAPOR_SPEECH_URL"  # accessibility.speech_to_text.service_url


@dataclass
class Replica:
    kind: str
    index: int
    port: int
    command: List[str]
    env: Dict[str, str] = field(repr=False)
    log_file: Path
    process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env,
                                        stdout=open(self.log_file, "ab"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300.0) -> None:
        wait_until_ready(self.url + HEALTH[self.kind], self.process, timeout)

    def kill(self) -> None:
        """``kill -9``: what a crash or an evicted pod looks like to the others."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, grace_seconds=30)


@dataclass
class Cluster:
    public_url: str  # nginx in front of the gateways: where providers send webhooks
    rasa_url: str  # nginx in front of the Rasa servers
    action_url: str  # nginx in front of the action servers (Rasa's action endpoint)
    replicas: Dict[str, List[Replica]]
    log_dir: Path
    balancer_dir: Optional[Path] = None  # nginx's folder: access.log names the replica of each request
    speech_url: str = ""  # nginx in front of the speech servers (the gateways' service_url)

    def served_by(self, kind: str) -> Dict[str, int]:
        """Requests per replica URL of ``kind`` so far, from nginx's access log."""
        port = {"gateway": self.public_url, "rasa": self.rasa_url, "actions": self.action_url,
                "speech": self.speech_url}[kind].rsplit(":", 1)[1]
        counts: Dict[str, int] = {}
        log_file = self.balancer_dir / "access.log" if self.balancer_dir else None
        if log_file is None or not log_file.exists():
            return counts
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[0] == port:
                for upstream in fields[4].split(","):
                    counts[upstream.strip()] = counts.get(upstream.strip(), 0) + 1
        return counts

    def restart(self, kind: str, index: int) -> Replica:
        replica = self.replicas[kind][index]
        replica.kill()
        replica.start()
        replica.wait_ready()
        return replica

    def stop(self) -> None:
        for kind in reversed(KINDS):  # gateways first: no new turns while the rest stops
            for replica in self.replicas[kind]:
                replica.stop()


def _environment(database_url: str, tracker_url: str, redis_url: str, extra: Dict[str, str]) -> Dict[str, str]:
    # The cluster's shared stores win over anything inherited: every replica must use them.
    return _rasa_env({**extra, "SAPALAPOR_DATABASE_URL": database_url, "SAPALAPOR_TRACKER_URL": tracker_url,
                      "SAPALAPOR_REDIS_URL": redis_url})


@contextlib.contextmanager
def running_cluster(model: Path, database_url: str, tracker_url: str, redis_url: str, log_dir: Path,
                    gateways: int = 1, rasa: int = 2, actions: int = 2, public_port: Optional[int] = None,
                    env: Optional[Dict[str, str]] = None, config: Optional[str] = None,
                    speech: int = 1) -> Iterator[Cluster]:
    """Start the replicas and nginx, wait until every replica answers its health check."""
    extra = dict(env or {})
    if config:
        extra["SAPALAPOR_CONFIG"] = config
    base_env = _environment(database_url, tracker_url, redis_url, extra)
    base_env.pop(ACTION_TOKEN_ENV, None)
    base_env.pop(SPEECH_URL_ENV, None)  # only the gateways get one: this cluster's speech listener
    settings: Settings = load_settings(config, environ=base_env)
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = {"gateway": public_port or free_port(), "rasa": free_port(), "actions": free_port(),
             "speech": free_port()}
    balanced_url = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
    action_token = secrets.token_urlsafe(32)
    endpoints = write_endpoints(settings, balanced_url["actions"] + "/webhook", log_dir, action_token)
    credentials = write_credentials(settings, log_dir)
    python = sys.executable

    def command(kind: str, port: int) -> List[str]:
        if kind == "speech":
            return [python, "-m", "bot.speech_server", "--host", "127.0.0.1", "--port", str(port)]
        if kind == "actions":
            return [python, "-m", "bot.action_server", "--host", "127.0.0.1", "--port", str(port)]
        if kind == "rasa":
            return [python, "-m", "bot.rasa_server", "run", "--model", str(model), "--endpoints", str(endpoints),
                    "--credentials", str(credentials), "--interface", "127.0.0.1", "--port", str(port),
                    "--enable-api"]
        return [python, "-m", "channels.gateway", "--host", "127.0.0.1", "--port", str(port),
                "--rasa-url", balanced_url["rasa"]]

    counts = {"speech": speech, "actions": actions, "rasa": rasa, "gateway": gateways}
    kind_envs = {"actions": {**base_env, ACTION_TOKEN_ENV: action_token}}
    if speech:  # none: each gateway transcribes in its own worker, as bash run.sh does
        kind_envs["gateway"] = {**base_env, SPEECH_URL_ENV: balanced_url["speech"]}
    replicas: Dict[str, List[Replica]] = {}
    for kind in KINDS:
        kind_env = kind_envs.get(kind, base_env)
        replicas[kind] = [Replica(kind, index, free_port(), [], kind_env, log_dir / f"{kind}-{index}.log")
                          for index in range(counts[kind])]
        for replica in replicas[kind]:
            replica.command = command(kind, replica.port)
    cluster = Cluster(balanced_url["gateway"], balanced_url["rasa"], balanced_url["actions"], replicas, log_dir,
                      speech_url=balanced_url["speech"])
    # Transcription is idempotent: a note is sent to the next speech server after an error or a
    # busy (503) answer, as the gateways' relayed turns are.
    listeners = [Balanced("gateways", ports["gateway"], [f"127.0.0.1:{r.port}" for r in replicas["gateway"]], True),
                 Balanced("rasa", ports["rasa"], [f"127.0.0.1:{r.port}" for r in replicas["rasa"]], True),
                 Balanced("actions", ports["actions"], [f"127.0.0.1:{r.port}" for r in replicas["actions"]], False)]
    if speech:
        listeners.append(Balanced("speech", ports["speech"], [f"127.0.0.1:{r.port}" for r in replicas["speech"]],
                                  True, max_body_bytes=max_body_bytes(
                                      settings.section("accessibility.speech_to_text").get("max_seconds", 120.0,
                                                                                          kind=float))))
    try:
        with running_nginx(listeners) as balancer_dir:
            cluster.balancer_dir = balancer_dir
            # Speech first: its model loads while the others start, so it is waited for last.
            # Actions before Rasa (it calls them), Rasa before the gateways.
            for replica in replicas["speech"]:
                replica.start()
            for kind in KINDS[1:]:
                for replica in replicas[kind]:
                    replica.start()
                for replica in replicas[kind]:
                    replica.wait_ready()
            for replica in replicas["speech"]:
                replica.wait_ready()
            yield cluster
    finally:
        cluster.stop()
