"""``python -m bot cluster``: several of each server on this machine, as on several hosts.

For trying a replicated deployment and for its tests: starts PostgreSQL (two databases: ours and
Rasa's tracker store), Redis (Rasa's lock store) and nginx in front of N gateways, N Rasa
servers, N action servers and N speech-to-text servers (bot/cluster/). Installs the three
servers with apt-get when they are missing, as test.sh installs PostgreSQL. ``bash run.sh``
stays one process of each on SQLite.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("cluster", help="run several replicas of each server behind nginx (PostgreSQL, Redis)")
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument("--rasa", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    parser.add_argument("--speech", type=int, default=1,
                        help="speech-to-text servers (0: each gateway transcribes in its own worker)")
    parser.add_argument("--port", type=int, default=0, help="nginx's public port (default: server.port)")
    parser.add_argument("--postgres-url", help="use this PostgreSQL server instead of starting one")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.set_defaults(func=run)


def ensure_servers_installed() -> None:
    """PostgreSQL, Redis and nginx from Debian's packages, only those missing."""
    wanted = {"redis-server": "redis-server", "nginx": "nginx", "pg_ctlcluster": "postgresql"}
    missing = [package for binary, package in wanted.items()
               if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists()]
    if missing:
        print(f"==> Installing {' '.join(missing)}")
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True)


def run(args) -> int:
    from bot.cluster.postgres import create_database, running_postgres
    from bot.cluster.redis_server import running_redis
    from bot.cluster.start import running_cluster
    from bot.commands.run import ensure_local_identity_key
    from bot.rasa_project import ensure_model
    from bot.settings import load_settings
    from storage.db import Database

    settings = load_settings(args.config)
    ensure_local_identity_key(settings.data_dir)
    settings = load_settings(args.config)
    if not (args.postgres_url and args.redis_url):
        ensure_servers_installed()
    with contextlib.ExitStack() as stack:
        database_url = args.postgres_url or stack.enter_context(running_postgres("sapalapor"))
        tracker_url = create_database(database_url, "sapalapor_tracker") if not args.postgres_url else database_url
        redis_url = args.redis_url or stack.enter_context(running_redis())
        print("==> Preparing the database")
        Database.shared(database_url).migrate()
        print("==> Checking the Rasa model")
        model = ensure_model(settings)
        print(f"==> Starting {args.gateways} gateway(s), {args.rasa} Rasa server(s), {args.actions} action server(s), "
              f"{args.speech} speech server(s)")
        cluster = stack.enter_context(running_cluster(
            model, database_url, tracker_url, redis_url, settings.data_dir / "cluster",
            gateways=args.gateways, rasa=args.rasa, actions=args.actions, speech=args.speech,
            public_port=args.port or settings.section("server").get("port", 5005, int),
            config=args.config))
        print(f"Ready: webhooks at {cluster.public_url} (nginx), Rasa behind {cluster.rasa_url}, "
              f"actions behind {cluster.action_url}, speech behind {cluster.speech_url or '(none)'}; logs in {cluster.log_dir}. Ctrl+C stops.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("Stopping...")
    return 0
