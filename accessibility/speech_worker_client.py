"""The gateway's handle on the speech-to-text worker process: start it, send it a voice note,
get the transcript back, replace it when it dies (the process itself is
:mod:`accessibility.speech_worker_process`; this module never imports it, nor any speech model).

Why a process: CTranslate2 decodes on the CPU for a second or more per voice note. Inside the
Rasa server it competed with the event loop that answers every provider's webhook, so the
webhook acknowledgement waited behind speech (bench/README.md, cause 4). In a separate process
lowered with ``os.nice`` the kernel gives the server's threads the CPU whenever they want it,
and speech uses what is left.

What callers may rely on:

* One worker per model setting per server process, started on first use (or by
  :meth:`SpeechWorker.start`), holding the model for its whole life: no model load per request.
* One request at a time over a private socket pair; a request carries the audio bytes and the
  recogniser's options (:meth:`accessibility.speech_to_text.SpeechToText.options`), the answer
  is a plain dict (a :class:`~accessibility.speech_transcript.Transcript` as a dict, or
  ``{"rejected": reason}``).
* A worker that dies is started again and the request is tried once more on the new one (a
  worker killed while idle is noticed only when the next request finds its socket closed);
  if that one dies too, the audio is likely the cause and the request is ``unavailable``.
  A worker that does not answer in time is killed and the request is not retried.
* No orphans: the worker exits when its socket closes (clean shutdown, or the server died) and
  a watchdog thread ends it if its parent process disappears mid-decode. :func:`shutdown_all`
  runs at interpreter exit.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Optional

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# Loading Whisper base takes a few seconds; assembling the bundled model once takes ~10 s more.
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 5.0
# Started by module name, so the client never imports the half that loads the model.
WORKER_MODULE = "accessibility.speech_worker_process"


class WorkerUnavailable(Exception):
    """The worker could not start, died during the request, or did not answer in time."""


class WorkerDied(WorkerUnavailable):
    """The worker process went away (killed, crashed) while we were talking to it."""


class SpeechWorker:
    """The server side of one worker process (see the module docstring)."""

    def __init__(self, model: str, *, data_dir: Path, cpu_threads: int, window_seconds: float,
                 nice: int = 10, max_queued: int = 16) -> None:
        self.settings = {"model": model, "data_dir": str(Path(data_dir).resolve()), "cpu_threads": cpu_threads,
                         "window_seconds": window_seconds}
        self.nice = nice
        self.max_queued = max_queued
        self._process: Optional[subprocess.Popen] = None
        self._connection: Optional[Connection] = None
        self._lock = threading.Lock()  # one request (or start/stop) at a time on the socket
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.starts = 0

    # --------------------------------------------------------------------- admission
    def reserve(self) -> bool:
        """Count a request in, or False when ``max_queued`` are already waiting or running."""
        with self._pending_lock:
            if self._pending >= self.max_queued:
                return False
            self._pending += 1
            return True

    def release(self) -> None:
        with self._pending_lock:
            self._pending -= 1

    # --------------------------------------------------------------------- life cycle
    @property
    def pid(self) -> Optional[int]:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the worker and wait until its model is loaded (no-op when it is running)."""
        with self._lock:
            self._ensure_running()

    def _ensure_running(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        if self._process is not None:
            logger.warning("speech worker pid %s exited with %s; starting a new one",
                           self._process.pid, self._process.returncode)
            self._discard()
        ours, theirs = socket.socketpair()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, "--fd", str(theirs.fileno()),
                 "--nice", str(self.nice), "--settings", json.dumps(self.settings)],
                pass_fds=(theirs.fileno(),), env=environment, stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C in the terminal reaches the server, which then closes
                # the socket; the worker never dies half-way through a request on its own.
                start_new_session=True,
            )
        except OSError as error:
            ours.close()
            raise WorkerUnavailable(f"could not start the speech worker: {error}") from error
        finally:
            theirs.close()
        self._process, self._connection = process, Connection(ours.detach())
        self.starts += 1
        started = time.perf_counter()
        reply = self._receive(START_TIMEOUT_SECONDS, "starting")
        if not reply.get("ready"):
            self._discard()
            raise WorkerUnavailable(f"the speech worker could not load its model: {reply.get('error')}")
        logger.info("speech worker pid %s ready in %.1f s (nice %d)", process.pid,
                    time.perf_counter() - started, self.nice)

    def transcribe(self, request: dict, timeout: float) -> dict:
        """Send one request and wait for its answer (blocking; run it off the event loop)."""
        with self._lock:
            try:
                return self._exchange(request, timeout)
            except WorkerDied as died:
                logger.warning("%s; retrying once on a new worker", died)
                return self._exchange(request, timeout)

    def _exchange(self, request: dict, timeout: float) -> dict:
        self._ensure_running()
        try:
            self._connection.send(request)
        except OSError as error:
            pid = self._process.pid
            self._discard()
            raise WorkerDied(f"the speech worker (pid {pid}) went away: {error}") from error
        return self._receive(timeout, "transcribing")

    def _receive(self, timeout: float, doing: str) -> dict:
        connection = self._connection
        try:
            if not connection.poll(timeout):
                pid = self._process.pid
                self._discard()
                raise WorkerUnavailable(f"the speech worker (pid {pid}) took over {timeout:.0f} s {doing}; restarted")
            return connection.recv()
        except (EOFError, OSError) as error:
            pid = self._process.pid
            self._discard()
            raise WorkerDied(f"the speech worker (pid {pid}) died while {doing}") from error

    def _discard(self) -> None:
        """Close the socket and make sure the process is gone and reaped."""
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            connection.close()
        if process is None:
            return
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the worker: closing the socket tells it to exit; killed if it does not."""
        with self._lock:
            self._discard()


# ------------------------------------------------------------------ one per process
_workers: dict[tuple, SpeechWorker] = {}
_workers_lock = threading.Lock()


def shared_worker(model: str, *, data_dir: Path, cpu_threads: int, window_seconds: float,
                  nice: int, max_queued: int) -> SpeechWorker:
    """The worker for these model settings, shared by every caller in this process."""
    key = (model, str(data_dir), cpu_threads, window_seconds, nice, max_queued)
    with _workers_lock:
        worker = _workers.get(key)
        if worker is None:
            worker = _workers[key] = SpeechWorker(model, data_dir=data_dir, cpu_threads=cpu_threads,
                                                  window_seconds=window_seconds, nice=nice,
                                                  max_queued=max_queued)
        return worker


@atexit.register
def shutdown_all() -> None:
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.close()
