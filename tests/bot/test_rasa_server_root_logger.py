"""Importing the Rasa server's entry point leaves the root logger able to log tracebacks."""
from __future__ import annotations

import logging


def test_the_root_logger_still_logs_exceptions_after_the_rasa_server_is_imported(caplog):
    import bot.rasa_server  # noqa: F401  (imports skops, which imports numpy.distutils)

    assert type(logging.getLogger()) is logging.RootLogger
    try:
        raise RuntimeError("a traceback to log")
    except RuntimeError:
        logging.getLogger().exception("logged with its traceback")
    assert "logged with its traceback" in caplog.text and "RuntimeError" in caplog.text
