"""Keeping provider secrets out of the logs.

Why: the Telegram bot token is part of every Bot API URL, and libraries log URLs (httpx at
INFO, python-telegram-bot at DEBUG, aiohttp's errors name the URL they failed on). Those
loggers are quietened, and every log record of the process, whatever logger created it and
whatever handler writes it, has each known secret replaced with "<redacted>".

How: a logger's filter sees only the records created on that very logger, not those that
propagate from its children (``channels.telegram``, ``channels.sending``: issue 13, D6), and a
handler's filter misses handlers added later (pytest's caplog, a file handler). So the redaction
sits in the log-record factory: it runs once per record that passes the level check, before any
handler, for every logger. The message is formatted there once (a handler would format it
anyway) and so is the traceback of a record with ``exc_info`` (an exception's text may carry a
URL); both are kept in redacted form.
"""
from __future__ import annotations

import logging
import threading
from typing import Iterable, Set

_QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO,
          "twilio.http_client": logging.WARNING}
_MINIMUM = 6  # shorter values would redact ordinary words
_install_lock = threading.Lock()
_secrets: Set[str] = set()
_previous_factory = None


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced (longest first, so no fragment survives)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return text


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _previous_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
        return record
    redacted = scrub(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def _install() -> None:
    global _previous_factory
    with _install_lock:
        if _previous_factory is None:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_redacting_factory)


def protect(secrets: Iterable[str]) -> None:
    """Redact these values (tokens, webhook secrets) from every log record of this process."""
    for secret in secrets:
        if secret and len(secret) >= _MINIMUM:
            _secrets.add(secret)
            if ":" in secret:  # a Telegram token "123:ABC..." also appears as its secret half
                half = secret.split(":", 1)[1]
                if len(half) >= _MINIMUM:
                    _secrets.add(half)
    for name, level in _QUIET.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
    _install()
