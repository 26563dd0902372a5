"""``python -m bot.action_server --port P``: Rasa SDK's action server, on loopback, for Rasa only.

Why not ``rasa run actions``: the SDK's server listens on 0.0.0.0 (``SANIC_HOST``) and has no
authentication, and anyone who can reach ``POST /webhook`` can run any action with made-up
slots (one call with ``next_action=action_submit_report`` filed a report for an arbitrary sender,
issue 13, D9). Here the server binds to ``server.action_host`` (127.0.0.1 unless a multi-host
deployment says otherwise) and refuses every call without the bearer token Rasa sends through
its action endpoint's ``headers`` (bot/rasa_project.py writes them into endpoints.yml). Only the
health check is open, for the process supervisor.

The token comes from ``SAPALAPOR_ACTION_TOKEN`` (``server.action_token``); the run command
makes a fresh random one per start when none is configured and gives it to this process and to
Rasa only, never to the channel gateway.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
import time
from typing import List, Optional

log = logging.getLogger(__name__)

TOKEN_ENV = "SAPALAPOR_ACTION_TOKEN"
DEFAULT_HOST = "127.0.0.1"
OPEN_PATHS = frozenset({"/health"})
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def action_headers(token: str) -> dict:
    """What Rasa sends with every action call (``action_endpoint.headers`` in endpoints.yml)."""
    return {"Authorization": f"Bearer {token}"}


def require_token(app, token: str) -> None:
    """Refuse (403) every request but the health check that lacks ``Authorization: Bearer <token>``."""
    if not token:
        raise ValueError("the action server needs a token")
    from sanic import response

    expected = action_headers(token)["Authorization"].encode()

    @app.middleware("request")
    async def authenticate(request):
        if request.path in OPEN_PATHS:
            return None
        supplied = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(supplied, expected):
            log.warning("action server: %s %s without Rasa's token refused", request.method, request.path)
            return response.json({"error": "forbidden"}, status=403)
        return None


def create_app(token: str, actions: str = "bot.actions"):
    from rasa_sdk.endpoint import create_app as sdk_app

    app = sdk_app(actions, cors_origins=None)
    require_token(app, token)
    return app


def warm_up() -> None:
    """Load (or train, once per data version) the category model and index the regions before
    serving, so no citizen's first message waits for it (training took ~25 s of CPU, and over
    a minute on a busy machine: longer than Rasa waits for an action). The response names are
    read here too: a file read and YAML parse that no turn should wait for."""
    from bot.actions.response_names import response_names

    started = time.monotonic()
    response_names()
    try:
        from storage.routing import categories, regions

        categories.get_model()
        regions.warm_up()
    except Exception:  # noqa: BLE001 - the first message then pays for it; the form still works
        log.exception("warming up the routing models failed; the first report will load them")
        return
    log.info("routing models ready in %.1f s", time.monotonic() - started)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None, help="default: server.action_host, else 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--actions", default="bot.actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT, stream=sys.stdout)
    from bot.actions import runtime
    from bot.settings import load_settings
    from channels import redact
    from shared.long_lived import freeze_loaded

    settings = load_settings()
    # The actions' settings, read once here (the entry point) and handed down: bot/actions never
    # reads config.yml itself. Sanic serves with one worker in this process, so they see this value.
    runtime.configure(settings)
    server = settings.section("server")
    token = os.environ.get(TOKEN_ENV) or server.get("action_token") or ""
    if not token:
        log.error("no action token (%s or server.action_token): refusing to serve actions to anyone", TOKEN_ENV)
        return 2
    redact.protect([token])
    host = args.host or server.get("action_host", DEFAULT_HOST)
    app = create_app(token, args.actions)
    warm_up()
    freeze_loaded("action server")
    log.info("action server on %s:%d (token required)", host, args.port)
    app.run(host=host, port=args.port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
