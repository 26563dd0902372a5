"""The channel gateway: the public webhook server, in a process of its own.

``python -m channels.gateway --host H --port P --rasa-url http://127.0.0.1:R`` serves every
connector config.yml turns on (Telegram, SMS, WhatsApp, the export API) under
``/webhooks/<name>/``, exactly the paths Rasa served them on before, and hands each message to
the Rasa server over loopback (channels/relay.py).

Why a process of its own: on two cores, channel work in the Rasa process took CPU and event-loop
time from Rasa's turns, and a provider's HTTP acknowledgement waited behind them (bench/README.md,
causes 3 and 4). Here a webhook is answered by a loop that does nothing Rasa does, the speech
worker is this process's child, and the Rasa server listens on loopback only.

``GET /`` answers 200 once every connector has started (recovery of unhandled deliveries,
webhook registration), 503 before.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Dict, List, Optional

from rasa.shared.utils.common import class_from_module_path
from sanic import Sanic, response
from sanic.request import Request

from bot.settings import Settings, load_settings
from channels.connector import Served
from channels.relay import PATH, RasaRelay, relay_token
from channels.connector_runtime import DEFAULT_REPLICA, Runtime, runtime_for
from shared.long_lived import freeze_loaded

log = logging.getLogger(__name__)

# Channel name in config.yml -> the connector's import path.
CONNECTORS: Dict[str, str] = {
    "telegram": "channels.telegram.TelegramInput",
    "sms": "channels.sms.SmsInput",
    "whatsapp": "channels.whatsapp.WhatsAppInput",
    "web": "channels.web.WebInput",
}
EXPORT_API = "channels.export_api.ExportApiInput"
MAX_REQUEST_BYTES = 1024 * 1024
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def connector_paths(settings: Settings) -> List[str]:
    """What this gateway serves: the enabled channels, and the export API when it has a token."""
    paths = [path for name, path in CONNECTORS.items() if settings.channel_enabled(name)]
    if settings.section("export_api").has("token"):
        paths.append(EXPORT_API)
    return paths


def _connector(path: str, runtime: Runtime) -> Served:
    """Each connector is built once, with the runtime this entry point made (channels/connector.py)."""
    return class_from_module_path(path).from_runtime(runtime)


def replica_name(port: int) -> str:
    """Host and port: unique among live gateways (one port per process per host), stable across
    a restart of the same replica (a pod keeps its name only in a StatefulSet; otherwise its
    claims lapse and another replica takes over, channels/intake.py)."""
    return f"{socket.gethostname()[:100]}:{port}"


def build_app(settings: Settings, rasa_url: str, name: str = "sapalapor_channels",
              replica: str = DEFAULT_REPLICA) -> Sanic:
    """The gateway's Sanic app; connectors start and stop with it (their own listeners)."""
    relay = RasaRelay(f"{rasa_url.rstrip('/')}{PATH}", relay_token(settings.identity_key))
    # Settings read here, the database migrated once, handed down.
    runtime = runtime_for(settings, replica)
    connectors = [_connector(path, runtime) for path in connector_paths(settings)]
    app = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 120  # as Rasa's server: providers reuse their connections
    # No provider sends more than a few kB per webhook call (Telegram texts end at 4096
    # characters, Twilio forms are small); Sanic's default of 100 MB would let one forged
    # call hold the loop while it is read and parsed.
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    for connector in connectors:
        app.blueprint(connector.blueprint(relay), url_prefix=f"/webhooks/{connector.name()}")
        if hasattr(connector, "page_blueprint"):  # the web chat's own page, at /web/
            app.blueprint(connector.page_blueprint())

    @app.route("/", methods=["GET"])
    async def health(_request: Request):
        names = [connector.name() for connector in connectors]
        starting = [connector.name() for connector in connectors
                    if hasattr(connector, "is_ready") and not connector.is_ready()]
        if starting:
            return response.json({"status": "starting", "starting": starting}, status=503)
        return response.json({"status": "ok", "channels": names})

    @app.listener("after_server_stop")
    async def close_relay(_app, _loop) -> None:
        await relay.close()

    return app


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m channels.gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rasa-url", required=True, help="the Rasa server, e.g. http://127.0.0.1:5006")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT, stream=sys.stdout)
    settings = load_settings()
    app = build_app(settings, args.rasa_url, replica=replica_name(args.port))
    freeze_loaded("channel gateway")
    log.info("channel gateway: %s on %s:%d, Rasa at %s",
             ", ".join(connector_paths(settings)) or "no channels", args.host, args.port, args.rasa_url)
    app.run(host=args.host, port=args.port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
