"""Keeping provider secrets out of the logs.

Why: the Telegram bot token is part of every Bot API URL, and libraries log URLs (httpx at
INFO, python-telegram-bot at DEBUG). Those loggers are quietened, and a filter replaces any
known secret that still reaches a record of ours or theirs with "<redacted>".
"""
from __future__ import annotations

import logging
from typing import Iterable, Set

# Loggers that may see a URL or an error carrying a token.
LOGGERS = ("channels", "telegram", "telegram.Bot", "telegram.request", "httpx", "httpcore", "twilio",
           "twilio.http_client", "aiohttp.client")
_QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO,
          "twilio.http_client": logging.WARNING}


class SecretFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: Set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = SecretFilter()


def protect(secrets: Iterable[str]) -> None:
    """Redact these values (tokens, webhook secrets) from every log line of the loggers above."""
    _FILTER.secrets.update(secret for secret in secrets if secret and len(secret) >= 6)
    for name, level in _QUIET.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
