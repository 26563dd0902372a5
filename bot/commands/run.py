"""``python -m bot run``: everything a newcomer needs to talk to the assistant.

Migrates the database, trains the model only when the training data changed, starts the
action server, the Rasa server, the channel gateway (serving the channels config.yml turns on)
and the staff console, and, on a terminal, opens a chat. Stops them all on Ctrl+C.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.rasa_project import ensure_model, start_servers
from bot.settings import load_settings
from storage.db import Database

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="train if needed, start the servers and chat")
    parser.add_argument("--no-chat", action="store_true", help="only serve (no terminal chat)")
    parser.set_defaults(func=run)


def ensure_local_secret(data_dir: Path, env_name: str, file_name: str, size: int = 32) -> None:
    """A newcomer has no ``env_name`` secret yet: make one for this machine only.

    The secret stays out of config.yml (secrets live in the environment); it is kept in the data
    folder with owner-only permissions so local profiles and sessions survive restarts.
    Production sets the environment variable and never reaches this.
    """
    if os.environ.get(env_name):
        return
    key_file = data_dir / file_name
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(size), encoding="utf-8")
        key_file.chmod(0o600)
        print(f"Created a local secret in {key_file} (set {env_name} in production).")
    os.environ[env_name] = key_file.read_text(encoding="utf-8").strip()


def ensure_local_identity_key(data_dir: Path) -> None:
    """The keyed hash's key (identity.hash_key)."""
    ensure_local_secret(data_dir, "SAPALAPOR_IDENTITY_KEY", ".identity_key")


def ensure_local_console_key(data_dir: Path) -> None:
    """The key that signs the console's session cookies (console.session_key)."""
    ensure_local_secret(data_dir, "SAPALAPOR_CONSOLE_KEY", ".console_key", size=48)


def run(args) -> int:
    settings = load_settings(args.config)
    ensure_local_identity_key(settings.data_dir)
    ensure_local_console_key(settings.data_dir)
    # The web chat is how a newcomer tries the assistant in a browser: on unless config.yml or
    # the environment turned it off (SAPALAPOR_WEB_ENABLED=false).
    os.environ.setdefault("SAPALAPOR_WEB_ENABLED", "true")
    settings = load_settings(args.config)  # now with the key
    settings.identity_key  # fail early, naming the key, if it is unusable
    print("==> Preparing the database")
    Database.shared(settings.database_url).migrate()
    startup_checks(settings)
    print("==> Checking the Rasa model")
    model = ensure_model(settings)
    server = settings.section("server")
    print("==> Starting the action server, the Rasa server and the channel gateway (about half a minute)")
    servers = start_servers(
        settings,
        model,
        runtime_dir=settings.data_dir / "runtime",
        host=server.get("host", "127.0.0.1"),
        port=server.get("port", 5005, int),
        rasa_port=server.get("rasa_port", 5006, int),
        action_port=server.get("action_port", 5055, int),
        # Rasa's HTTP API (conversations, tracker) has no auth of its own: the Rasa server
        # listens on loopback only, whatever server.host says (that is the gateway's).
        enable_api=True,
    )
    # Hourly: conversations that chose anonim are deleted from Rasa's store once quiet.
    purge_log = open(settings.data_dir / "runtime" / "purge.log", "ab")
    servers.processes.append(subprocess.Popen(
        [sys.executable, "-m", "bot", "purge-conversations", "--loop"],
        cwd=settings.base_dir, stdout=purge_log, stderr=subprocess.STDOUT,
    ))
    if settings.section("forwarding").has("endpoint"):
        # The outbox sends each new report on; it stops with the servers.
        forward_log = open(settings.data_dir / "runtime" / "forwarding.log", "ab")
        servers.processes.append(subprocess.Popen(
            [sys.executable, "-m", "bot", "forward", "--loop", "--interval", "30"],
            cwd=settings.base_dir, stdout=forward_log, stderr=subprocess.STDOUT,
        ))
        print("Forwarding new reports to forwarding.endpoint every 30 s")
    # The staff console (console/, docs/console.md): its own process, stopped with the servers.
    console = settings.section("console")
    console_log = open(settings.data_dir / "runtime" / "console.log", "ab")
    servers.processes.append(subprocess.Popen(
        [sys.executable, "-m", "console"], cwd=settings.base_dir, stdout=console_log, stderr=subprocess.STDOUT,
    ))
    print(f"Staff console at http://{console.get('host', '127.0.0.1')}:{console.get('port', 5010, int)} "
          "(first administrator: python -m bot console-admin NAME)")
    print(f"Ready: channels at {servers.channels_url}, Rasa at {servers.rasa_url} "
          f"(logs in {settings.data_dir / 'runtime'})")
    if settings.channel_enabled("web"):
        print(f"Web chat (open it in a browser): {servers.channels_url}/web/  "
              f"(kiosk for an event: {servers.channels_url}/web/kiosk/<event code>)")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if not args.no_chat and sys.stdin.isatty():
            from bot.commands.chat import chat_loop

            chat_loop(servers.rasa_url)
        else:
            while all(process.poll() is None for process in servers.processes):
                time.sleep(1)
            log.error("A server stopped unexpectedly; see the logs in %s", settings.data_dir / "runtime")
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the servers...")
        servers.stop()
    return 0


def startup_checks(settings) -> None:
    """Reject bad operator data files before anything starts serving."""
    from storage.routing.agencies import load_agency_table, table_file

    load_agency_table(table_file(settings.base_dir, settings.section("routing").get("agencies_file")))
