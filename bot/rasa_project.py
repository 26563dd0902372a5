"""Training, caching and serving the Rasa project from its files and ``config.yml``.

Why it exists: the run command, the tests and the benchmarks must all use one trained model
per version of the training data (training takes minutes; the fingerprint takes milliseconds),
and must start the Rasa server and the action server the same way, on SQL tracker storage.

The action server (bot/action_server.py) listens on ``server.action_host`` (loopback) and
answers only Rasa: :func:`start_servers` gives it a token (``server.action_token``, else a fresh
random one per start) and writes the same token into Rasa's endpoints.yml as the action
endpoint's ``Authorization`` header; the channel gateway never gets it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml
from sqlalchemy.engine import make_url

from bot.action_server import TOKEN_ENV as ACTION_TOKEN_ENV, action_headers
from bot.settings import ROOT, Settings

log = logging.getLogger(__name__)

BOT_DIR = ROOT / "bot"
DIALOGS_DIR = ROOT / "dialogs"
MODEL_CONFIG = BOT_DIR / "config.yml"
DOMAIN = BOT_DIR / "domain.yml"
RASA_VERSION = "3.6.21"


def training_files() -> List[Path]:
    """Every top-level ``dialogs/*.yml`` except test stories (``test_*``); ``dialogs/eval`` is held out."""
    return sorted(path for path in DIALOGS_DIR.glob("*.yml") if not path.name.startswith("test_"))


def fingerprint(files: Optional[Iterable[Path]] = None) -> str:
    """A hash of everything that changes the trained model: pipeline, domain, training data."""
    digest = hashlib.sha256(RASA_VERSION.encode())
    for path in [MODEL_CONFIG, DOMAIN, *(files if files is not None else training_files())]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def model_dir(settings: Optional[Settings] = None) -> Path:
    configured = os.environ.get("SAPALAPOR_MODEL_DIR")
    if configured:
        return Path(configured)
    return (settings.data_dir if settings else ROOT / "data") / "models"


def rasa_executable() -> str:
    candidate = Path(sys.executable).with_name("rasa")
    return str(candidate) if candidate.exists() else "rasa"


def ensure_model(settings: Optional[Settings] = None, force: bool = False) -> Path:
    """Return the model for the current training data, training it only when the data changed."""
    target_dir = model_dir(settings)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"sapalapor-{fingerprint()}.tar.gz"
    if target.exists() and not force:
        log.info("Model is up to date: %s", target.name)
        return target
    lock_path = target_dir / ".training.lock"
    with _file_lock(lock_path):
        if target.exists() and not force:  # trained by another process while we waited
            return target
        log.info("Training data changed: training a new model (this takes a minute or two)")
        with tempfile.TemporaryDirectory(dir=target_dir) as scratch:
            command = [
                rasa_executable(), "train",
                "--config", str(MODEL_CONFIG),
                "--domain", str(DOMAIN),
                "--data", *map(str, training_files()),
                "--out", scratch,
                "--fixed-model-name", "model",
            ]
            subprocess.run(command, cwd=ROOT, check=True, env=_rasa_env())
            shutil.move(str(Path(scratch) / "model.tar.gz"), str(target))
    log.info("Model ready: %s", target)
    return target


class _file_lock:
    """An exclusive lock between processes (tests and the run command may train at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        import fcntl

        self._handle = open(self.path, "w")
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _rasa_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


TRACKER_STORE_CLASS = "bot.tracker_store.CachedSQLTrackerStore"
LOCK_STORE_CLASS = "bot.lock_store.LeasedRedisLockStore"


def tracker_store_config(url: str, cache_size: Optional[int] = None) -> Dict[str, object]:
    """Rasa's SQLTrackerStore (here its cached subclass) takes URL parts, not a URL."""
    parsed = make_url(url)
    config: Dict[str, object] = {"type": TRACKER_STORE_CLASS, "dialect": parsed.drivername}
    if cache_size is not None:
        config["cache_size"] = cache_size
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        config.update({"dialect": "sqlite", "db": database})
        return config
    for key, value in (
        ("url", parsed.host),
        ("port", parsed.port),
        ("db", parsed.database),
        ("username", parsed.username),
        ("password", parsed.password),
    ):
        if value is not None:
            config[key] = value
    return config


def lock_store_config(url: str) -> Dict[str, object]:
    """Rasa's Redis lock store (ours: bot/lock_store.py) from a ``redis://[:password@]host[:port][/db]`` URL.

    Why: several Rasa servers must never run two turns of one conversation at once; Rasa's
    in-memory lock store only knows its own process, so replicas share this one (Rasa's
    documentation for horizontal scaling). ``rediss://`` turns TLS on. Rasa's own ``redis``
    store is not used: a server killed mid-turn left the conversation blocked for minutes
    (its tickets are no lease; see bot/lock_store.py).
    """
    parsed = make_url(url.replace("rediss://", "redis+tls://", 1)) if url.startswith("rediss://") else make_url(url)
    if not parsed.drivername.startswith("redis"):
        raise ValueError(f"lock_store.url must be a redis:// URL, not {parsed.drivername}://")
    config: Dict[str, object] = {"type": LOCK_STORE_CLASS, "url": parsed.host or "localhost",
                                 "port": parsed.port or 6379, "key_prefix": "sapalapor"}
    if parsed.database:
        config["db"] = int(parsed.database)
    if parsed.username:
        config["username"] = parsed.username
    if parsed.password:
        config["password"] = parsed.password
    if parsed.drivername == "redis+tls":
        config["use_ssl"] = True
    return config


def write_endpoints(settings: Settings, action_url: str, directory: Path, action_token: str = "") -> Path:
    """Rasa's endpoints.yml: the action server (with the token it requires) and the tracker store."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "endpoints.yml"
    # The domain (46 kB of JSON) goes only to the form validators (``validate_*``, which read
    # the forms' slots from it) and to actions marked ``send_domain`` in domain.yml; the others
    # read the response names once (bot/actions/response_names.py). Issue 18: about 1.3 ms of
    # CPU per action call saved.
    action_endpoint: Dict[str, object] = {"url": action_url, "enable_selective_domain": True}
    if action_token:
        # Rasa 3.6's EndpointConfig sends ``headers`` with every action call (a ``token`` would
        # go in the query string, where access logs keep it).
        action_endpoint["headers"] = action_headers(action_token)
    content = {
        "action_endpoint": action_endpoint,
        "tracker_store": tracker_store_config(settings.tracker_store_url, settings.tracker_cache_size),
    }
    lock_store_url = settings.section("lock_store").get("url", "")
    if lock_store_url:
        content["lock_store"] = lock_store_config(lock_store_url)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    os.chmod(path, 0o600)  # holds the action token, may hold a database password
    return path


RELAY = "channels.relay.RelayInput"


def write_credentials(settings: Settings, directory: Path, extra: Optional[Dict[str, dict]] = None) -> Path:
    """The Rasa server's channels: REST (local chat) when enabled, and the gateway's relay.

    Telegram, SMS, WhatsApp and the export API are served by the channel gateway
    (channels/gateway.py), a process of its own that reaches Rasa through the relay.
    """
    content: Dict[str, Optional[dict]] = {}
    if settings.channel_enabled("rest"):
        # Rasa's REST channel, with typed numbers and button titles mapped to the buttons shown.
        content["channels.rest.RestWithChoices"] = None
    content[RELAY] = {}
    content.update(extra or {})
    path = directory / "credentials.yml"
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} was not ready within {timeout:.0f} s")


@dataclass
class Servers:
    """The action server, the Rasa server and the channel gateway, as child processes.

    ``channels_url`` is the public address (provider webhooks, the export API); ``rasa_url`` is
    the Rasa server on loopback (the REST channel for local chat, Rasa's HTTP API).
    """

    rasa_url: str
    action_url: str
    channels_url: str = ""
    action_token: str = field(default="", repr=False)  # what Rasa sends the action server
    processes: List[subprocess.Popen] = field(default_factory=list)
    log_files: List[Path] = field(default_factory=list)

    _commands: List[tuple] = field(default_factory=list, repr=False)  # (log name, command, env) per process

    @property
    def gateway(self) -> subprocess.Popen:
        return self.processes[2]

    def restart(self, index: int, ready_url: Optional[str] = None) -> subprocess.Popen:
        """Start process ``index`` (0 actions, 1 Rasa, 2 gateway) again as it was started, e.g.
        after a test killed it; waits for ``ready_url`` when given."""
        old = self.processes[index]
        if old.poll() is None:
            old.kill()
            old.wait()
        name, command, env = self._commands[index]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(self.log_files[index], "ab"),
                                   stderr=subprocess.STDOUT)
        self.processes[index] = process
        if ready_url:
            wait_until_ready(ready_url, process)
        return process

    def stop(self, kill: bool = False) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.kill() if kill else process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def start_servers(
    settings: Settings,
    model: Path,
    runtime_dir: Path,
    host: str = "127.0.0.1",
    port: Optional[int] = None,
    action_port: Optional[int] = None,
    rasa_port: Optional[int] = None,
    env: Optional[Dict[str, str]] = None,
    log_dir: Optional[Path] = None,
    extra_credentials: Optional[Dict[str, dict]] = None,
    enable_api: bool = True,
) -> Servers:
    """Start the action server, the Rasa server and the channel gateway; wait until all answer.

    ``host``/``port`` is where the gateway listens (the public side); the Rasa server and the
    action server are reached on loopback.
    """
    port = port or free_port()
    action_port = action_port or free_port()
    rasa_port = rasa_port or free_port()
    local = "127.0.0.1"
    server = settings.section("server")
    action_host = server.get("action_host", local)
    action_reach = local if action_host in ("0.0.0.0", "::") else action_host
    action_url = f"http://{action_reach}:{action_port}/webhook"
    # Only Rasa (endpoints.yml, owner-only) and the action server know it; never the gateway.
    action_token = (env or {}).get(ACTION_TOKEN_ENV) or server.get("action_token") or secrets.token_urlsafe(32)
    endpoints = write_endpoints(settings, action_url, runtime_dir, action_token)
    credentials = write_credentials(settings, runtime_dir, extra_credentials)
    child_env = _rasa_env(env)
    child_env.pop(ACTION_TOKEN_ENV, None)
    action_env = {**child_env, ACTION_TOKEN_ENV: action_token}
    log_dir = log_dir or runtime_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = Servers(rasa_url=f"http://{local}:{rasa_port}", action_url=action_url, action_token=action_token,
                      channels_url=f"http://{local if host in ('0.0.0.0', '::') else host}:{port}")

    def spawn(name: str, command: List[str], process_env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        log_file = log_dir / name
        servers.log_files.append(log_file)
        process = subprocess.Popen(command, cwd=ROOT, env=process_env or child_env, stdout=open(log_file, "ab"),
                                   stderr=subprocess.STDOUT)
        servers.processes.append(process)
        servers._commands.append((name, command, process_env or child_env))
        return process

    try:
        action = spawn("action-server.log", [
            sys.executable, "-m", "bot.action_server", "--host", action_host, "--port", str(action_port)],
            action_env)
        rasa = spawn("rasa-server.log", [
            # Rasa's CLI with hot-path fixes (bot/rasa_server.py, measured in bench/README.md).
            sys.executable, "-m", "bot.rasa_server", "run",
            "--model", str(model),
            "--endpoints", str(endpoints),
            "--credentials", str(credentials),
            "--interface", local,
            "--port", str(rasa_port),
            *(["--enable-api"] if enable_api else []),
        ])
        gateway = spawn("channels.log", [
            sys.executable, "-m", "channels.gateway",
            "--host", host, "--port", str(port), "--rasa-url", servers.rasa_url])
        wait_until_ready(f"http://{action_reach}:{action_port}/health", action)
        wait_until_ready(f"{servers.rasa_url}/", rasa)
        if enable_api:
            wait_until_ready(f"{servers.rasa_url}/status", rasa)
        wait_until_ready(f"{servers.channels_url}/", gateway)
    except Exception:
        servers.stop(kill=True)
        raise
    return servers
