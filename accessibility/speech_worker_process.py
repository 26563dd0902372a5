"""The speech-to-text worker process: loads the model once and transcribes one voice note at a
time for the gateway that started it (:mod:`accessibility.speech_worker_client`).

Why a process of its own, at a lower priority: see the client's docstring. This half holds the
model (:mod:`accessibility.speech_recogniser`); it answers each request with a plain dict and
exits when the gateway closes the socket or disappears.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Optional

from accessibility.speech_recogniser import Recogniser, RecogniserOptions
from accessibility.speech_transcript import AudioRejected

logger = logging.getLogger(__name__)


def _exit_when_orphaned(parent: int) -> None:
    """A decode can take seconds; if the server vanished meanwhile, stop at once."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def serve(connection: Connection, settings: dict) -> None:
    """Load the model, say ready, then answer requests until the socket closes."""
    base = dict(data_dir=Path(settings["data_dir"]), cpu_threads=settings["cpu_threads"],
                window_seconds=settings["window_seconds"], decode_in_process=True)
    try:
        Recogniser(settings["model"], **base).model()
    except Exception as error:  # reported to the server, which logs it and answers kindly
        logger.exception("speech worker: the model could not be loaded")
        connection.send({"ready": False, "error": f"{type(error).__name__}: {error}"})
        return
    connection.send({"ready": True})
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the server closed the socket: a clean shutdown, or it died
        try:
            recogniser = Recogniser(settings["model"], **base,
                                    options=RecogniserOptions.from_dict(request.get("options") or {}))
            transcript = recogniser.transcribe(request["audio"], request["mime"], expects=request.get("expects"),
                                               titles=request.get("titles") or ())
            reply = transcript.as_dict()
        except AudioRejected as rejected:
            reply = {"rejected": rejected.reason}
        except Exception as error:
            logger.exception("speech worker: transcription failed (%s)", request.get("mime"))
            reply = {"rejected": "unavailable", "error": f"{type(error).__name__}: {error}"}
        try:
            connection.send(reply)
        except OSError:
            return


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="SapaLapor speech-to-text worker (started by the server)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--settings", required=True)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s speech-worker[%(process)d] %(levelname)s %(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one line per note otherwise
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if arguments.nice:
        os.nice(arguments.nice)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    connection = Connection(socket.socket(fileno=arguments.fd).detach())
    try:
        serve(connection, json.loads(arguments.settings))
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
