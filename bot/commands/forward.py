"""``python -m bot forward``: send new reports to ``forwarding.endpoint`` (once, or ``--loop``).

With ``--loop`` on several replicas (deploy/), only the holder of the ``forwarding`` lease
(storage/leases.py) sends in a round, so each report is offered once; the others wait and take
over when the holder stops renewing. The Idempotency-Key covers a holder that stalled past its
lease and resumed.
"""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger(__name__)
LEASE = "forwarding"
# A round may take a while on a slow endpoint; the lease outlives three rounds and this at least.
LEASE_FLOOR_SECONDS = 120.0


def register(subparsers) -> None:
    parser = subparsers.add_parser("forward", help="forward reports in the outbox to the configured endpoint")
    parser.add_argument("--loop", action="store_true", help="keep running, one round every --interval seconds")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds with --loop")
    parser.add_argument("--lease-seconds", type=float, default=0.0,
                        help="how long a silent replica keeps the job (default: 3 rounds, at least 120 s)")
    parser.add_argument("--retry-failed", action="store_true", help="requeue items that failed for good first")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage import leases
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
    holder = leases.holder_id()
    lease_seconds = args.lease_seconds or max(3 * args.interval, LEASE_FLOOR_SECONDS)
    while True:
        try:
            with database.session() as session:
                mine = leases.take(session, LEASE, holder, lease_seconds)
            if mine:
                with database.session() as session:
                    result = forward_pending(
                        session, endpoint, token,
                        still_mine=lambda current: leases.take(current, LEASE, holder, lease_seconds))
                print(f"sent {result.sent}, will retry {result.retried}, failed {result.failed}")
            elif args.loop:
                log.debug("another replica holds the %s lease; waiting", LEASE)
            else:
                print("Another process is forwarding now (it holds the lease); nothing sent.")
        except Exception:  # noqa: BLE001 - with --loop one bad round must not stop forwarding
            if not args.loop:
                raise
            log.exception("forwarding round failed; trying again in %.0f s", args.interval)
        if not args.loop:
            with database.session() as session:
                leases.release(session, LEASE, holder)
            return 0
        time.sleep(args.interval)
