"""``python -m console [--host H] [--port P]``: serve the staff console (defaults from config.yml)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import List, Optional

from bot.settings import ConfigError, load_settings
from console.app import build_app
from console.config import console_config
from storage.db import Database

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description="serve the SapaLapor staff console")
    parser.add_argument("--host", help="default: console.host in config.yml (127.0.0.1)")
    parser.add_argument("--port", type=int, help="default: console.port in config.yml (5010)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT, stream=sys.stdout)
    try:
        settings = load_settings()
        config = console_config(settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    database = Database.shared(settings.database_url)
    database.migrate()
    host, port = args.host or config.host, args.port or config.port
    app = build_app(settings, config, database, name="sapalapor_console")
    logging.getLogger(__name__).info("staff console on http://%s:%d", host, port)
    app.run(host=host, port=port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
