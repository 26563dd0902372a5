"""``python -m bot forward``: send new reports to ``forwarding.endpoint`` (once, or ``--loop``)."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser("forward", help="forward reports in the outbox to the configured endpoint")
    parser.add_argument("--loop", action="store_true", help="keep running, one round every --interval seconds")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds with --loop")
    parser.add_argument("--retry-failed", action="store_true", help="requeue items that failed for good first")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.forwarding import forward_pending, retry_failed

    settings = load_settings(args.config)
    section = settings.section("forwarding")
    endpoint = section.get("endpoint")
    if not endpoint:
        print("forwarding.endpoint is empty (set SAPALAPOR_FORWARD_URL): nothing to do.", file=sys.stderr)
        return 2
    token = section.get("token")
    database = Database.shared(settings.database_url)
    if args.retry_failed:
        with database.session() as session:
            print(f"{retry_failed(session)} failed item(s) requeued.")
    while True:
        try:
            with database.session() as session:
                result = forward_pending(session, endpoint, token)
            print(f"sent {result.sent}, will retry {result.retried}, failed {result.failed}")
        except Exception:  # noqa: BLE001 - with --loop one bad round must not stop forwarding
            if not args.loop:
                raise
            log.exception("forwarding round failed; trying again in %.0f s", args.interval)
        if not args.loop:
            return 0
        time.sleep(args.interval)
