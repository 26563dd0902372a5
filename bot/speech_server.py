"""``python -m bot.speech_server --port P`` (``python -m bot serve speech``): speech-to-text as a service.

Why (issue 19): voice load scales apart from text. Gateways with
``accessibility.speech_to_text.service_url`` set send every voice note here instead of to a
child process of their own; this server holds that child process instead (the same
:class:`~accessibility.speech_worker_client.SpeechWorker`: niced, one note at a time, its model
loaded once, the queue limit), and any number of replicas sit behind a Service or nginx. The
contract (routes, token, answers) is in :mod:`accessibility.speech_service`.

This entry point reads config.yml and hands typed values down: the model settings as
:class:`~accessibility.speech_to_text.SpeechToText` reads them, the token derived from the
identity key (the gateways derive the same one), ``max_seconds`` for the body cap. The model is
loaded at start, in the background: ``GET /health`` answers 503 until it is, so a replica gets
no notes before it can decode them.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional

from sanic import Sanic, response
from sanic.request import Request

from accessibility.speech_service import HEALTH_PATH, TRANSCRIBE_PATH, max_audio_bytes, max_body_bytes, speech_token
from accessibility.speech_worker_client import SpeechWorker, WorkerUnavailable

log = logging.getLogger(__name__)

DEFAULT_PORT = 5070
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"
WARM_UP_RETRY_SECONDS = 15.0


def _valid(body: Any, audio_cap: int) -> Optional[dict]:
    """The worker's request from the JSON body, or None when the body is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("audio"), str):
        return None
    mime, options, expects, titles = body.get("mime"), body.get("options") or {}, body.get("expects"), body.get("titles") or []
    if (mime is not None and not isinstance(mime, str)) or not isinstance(options, dict):
        return None
    if (expects is not None and not isinstance(expects, str)) or not isinstance(titles, list):
        return None
    if not all(isinstance(title, str) for title in titles) or len(titles) > 100:
        return None
    try:
        audio = base64.b64decode(body["audio"], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(audio) > audio_cap:
        return None
    return {"audio": audio, "mime": mime, "options": options, "expects": expects, "titles": titles}


def build_app(worker: SpeechWorker, token: str, *, max_seconds: float, name: str = "sapalapor_speech",
              warm_up: bool = True) -> Sanic:
    """The speech server's app around ``worker``; with ``warm_up`` its model loads when serving starts."""
    if not token:
        raise ValueError("the speech server needs a token")
    expected = f"Bearer {token}".encode()
    audio_cap = max_audio_bytes(max_seconds)
    # Generous, as the gateway's own: a two-minute note decodes in well under a minute.
    timeout = 60.0 + 2.0 * max_seconds
    # Threads that wait for the worker (it decodes one note at a time); the queue limit bounds them.
    pool = ThreadPoolExecutor(max_workers=max(1, worker.max_queued), thread_name_prefix="speech-service")
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = max_body_bytes(max_seconds)
    app.config.REQUEST_TIMEOUT = 60
    app.config.RESPONSE_TIMEOUT = timeout + 30
    app.config.KEEP_ALIVE_TIMEOUT = 75  # longer than the clients keep idle connections (30 s)
    app.ctx.ready = False
    app.ctx.worker = worker

    async def load_model() -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = time.monotonic()
            try:
                await loop.run_in_executor(pool, worker.start)
            except Exception:  # noqa: BLE001 - logged; /health stays 503 and it is tried again
                log.exception("speech server: the model could not be loaded; trying again in %.0f s",
                              WARM_UP_RETRY_SECONDS)
                await asyncio.sleep(WARM_UP_RETRY_SECONDS)
                continue
            app.ctx.ready = True
            log.info("speech server: model loaded in %.1f s (worker pid %s)", time.monotonic() - started, worker.pid)
            return

    @app.listener("after_server_start")
    async def start_loading(_app, _loop) -> None:
        if warm_up:
            app.ctx.warm_up = asyncio.get_running_loop().create_task(load_model())

    @app.listener("after_server_stop")
    async def stop_worker(_app, _loop) -> None:
        task = getattr(app.ctx, "warm_up", None)
        if task is not None:
            task.cancel()
        await asyncio.get_running_loop().run_in_executor(None, worker.close)
        pool.shutdown(wait=False)

    @app.middleware("request")
    async def authenticate(request: Request):
        if request.path == HEALTH_PATH:
            return None
        supplied = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(supplied, expected):
            log.warning("speech server: %s %s without the gateways' token refused", request.method, request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.get(HEALTH_PATH)
    async def health(_request: Request):
        if not app.ctx.ready:
            return response.json({"status": "loading"}, status=503)
        return response.json({"status": "ok", "worker": worker.pid is not None})

    @app.post(TRANSCRIBE_PATH)
    async def transcribe(request: Request):
        try:
            body = request.json
        except Exception:  # noqa: BLE001 - Sanic raises its own InvalidUsage on bad JSON
            body = None
        wanted = _valid(body, audio_cap)
        if wanted is None:
            return response.json({"error": "not a transcription request"}, status=400)
        options = dict(wanted["options"])
        # This replica's cap wins over the client's: the timeout and the body cap are sized for it.
        options["max_seconds"] = min(float(options.get("max_seconds") or max_seconds), max_seconds)
        wanted["options"] = options
        if not worker.reserve():
            log.warning("speech server: queue full (%d voice notes waiting); one declined", worker.max_queued)
            return response.json({"rejected": "busy"}, status=503)
        try:
            reply = await asyncio.get_running_loop().run_in_executor(pool, worker.transcribe, wanted, timeout)
        except WorkerUnavailable:
            # The worker died twice on this note (or hung): the audio is the likely cause, so the
            # answer is final (200), not a 5xx that would send the note to another replica's worker.
            log.exception("speech server: worker unavailable (%s, %d bytes)", wanted["mime"], len(wanted["audio"]))
            reply = {"rejected": "unavailable"}
        finally:
            worker.release()
        return response.json(reply)

    return app


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.speech_server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None,
                        help=f"default: accessibility.speech_to_text.service_port, else {DEFAULT_PORT}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT, stream=sys.stdout)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)
    from accessibility.speech_to_text import SpeechToText
    from bot.settings import load_settings
    from channels import redact

    settings = load_settings()
    section = settings.section("accessibility.speech_to_text")
    port = args.port or section.get("service_port", DEFAULT_PORT, kind=int)
    # The model settings as a gateway reads them: this replica transcribes as its worker would.
    speech = SpeechToText.from_settings(settings)
    token = speech_token(settings.identity_key)
    redact.protect([token])
    app = build_app(speech.speech_worker(), token, max_seconds=speech.max_seconds)
    log.info("speech server on %s:%d (model %s, %d thread(s), up to %d notes queued; token required)",
             args.host, port, speech.model_setting, speech.cpu_threads, speech.max_queued)
    app.run(host=args.host, port=port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
