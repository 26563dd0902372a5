"""The load generator: a second process that drives conversations over loopback.

Why a separate process: load generated inside the server process would compete for its event
loop and hide its costs. This process also hosts the fake provider APIs, so a turn through
Telegram or SMS is timed, in one clock, from the webhook POST to the reply reaching the
provider's API.

It is driven by bench.run over stdin/stdout, one JSON object per line (logs go to stderr), and
stops by itself when stdin closes or after ``--max-lifetime`` seconds. Every run is bounded by a
turn count *and* a time limit. Standalone use against a running server::

    python -m bench.load --once '{"cmd": "run", "kind": "rest", "url": "http://127.0.0.1:5005",
        "concurrency": 10, "max_turns": 200, "max_seconds": 10, "script": [{"text": "halo"}]}'
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import math
import os
import sys
import time
import uuid
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

import aiohttp

from bench.fake_providers import Arrivals, timed_telegram, timed_twilio

log = logging.getLogger("bench.load")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def percentile(values: List[float], p: float) -> Optional[float]:
    """Nearest-rank percentile (p in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values_s: List[float]) -> Dict[str, Optional[float]]:
    """Milliseconds."""
    ms = [value * 1000.0 for value in values_s]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
        "max": max(ms) if ms else None, "mean": sum(ms) / len(ms) if ms else None,
    }


class Load:
    """State shared by all commands of one load process: HTTP session, fakes, sender ids."""

    def __init__(self) -> None:
        self.arrivals = Arrivals()
        self.telegram: Any = None
        self.twilio: Any = None
        self.runners: list = []
        self.session: Optional[aiohttp.ClientSession] = None
        self._ids = itertools.count(1)
        self._prefix = int(time.time()) % 100000
        self.voices: Dict[str, Dict[str, Any]] = {}

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        for server in self.runners:
            await server.stop()

    # Commands -----------------------------------------------------------------------------
    async def cmd_fakes(self, request: dict) -> dict:
        self.telegram, telegram_url, telegram_source = await timed_telegram(request["telegram_token"], self.arrivals)
        self.runners.append(self.telegram)
        self.twilio, twilio_url, twilio_source = await timed_twilio(
            request["twilio_sid"], request["twilio_token"], self.arrivals)
        self.runners.append(self.twilio)
        return {"telegram_url": telegram_url, "twilio_url": twilio_url,
                "fakes": {"telegram": telegram_source, "twilio": twilio_source}}

    async def cmd_voice(self, request: dict) -> dict:
        """Register a voice note (OGG/Opus file) under an id, on both fake providers."""
        with open(request["path"], "rb") as handle:
            data = handle.read()
        voice_id = request["id"]
        self.voices[voice_id] = {"size": len(data), "duration": int(round(request.get("duration", 5)))}
        if self.telegram is not None:
            self.telegram.files[voice_id] = data
        if self.twilio is not None:
            self.twilio.add_media(voice_id, data, "audio/ogg")
        return {"id": voice_id, "bytes": len(data)}

    async def cmd_run(self, request: dict) -> dict:
        return await Run(self, request).execute()

    async def cmd_say(self, request: dict) -> dict:
        """One turn of a named user (kept across calls), waiting until the replies stop coming.

        Returns the replies (method, text) and ``elapsed_s``: the POST to the last reply.
        """
        run = Run(self, {**request, "concurrency": 1, "script": [request["turn"]]})
        users = self.__dict__.setdefault("_named_users", {})
        user = users.get(request["user"])
        if user is None:
            user = users[request["user"]] = run.new_user()
            self.arrivals.keep_texts.add((run.provider, user["recipient"]))
        key = (run.provider, user["recipient"])
        before = len(self.arrivals.texts.get(key, []))
        quiet = float(request.get("quiet_seconds", 2.0))
        limit = float(request.get("turn_timeout", 120))
        started = time.perf_counter()
        answer = await run.post(user, request["turn"])
        last_count, last_change, last_arrival = before, time.perf_counter(), None
        while answer is None and time.perf_counter() - started < limit:
            await asyncio.sleep(0.05)
            count = len(self.arrivals.texts.get(key, []))
            if count != last_count:
                last_count, last_change = count, time.perf_counter()
                last_arrival = self.arrivals.by_recipient[key][-1][1]
            elif count > before and time.perf_counter() - last_change >= quiet:
                break
        if answer is not None:  # REST answers in the response itself
            replies = [{"method": "rest", "text": message.get("text", "")} for message in answer]
            last_arrival = last_arrival or time.perf_counter()
        else:
            replies = [{"method": method, "text": text} for method, text in self.arrivals.texts[key][before:]]
        return {"replies": replies, "recipient": user["recipient"],
                "elapsed_s": (last_arrival - started) if last_arrival else None}

    async def cmd_actions(self, request: dict) -> dict:
        """POST ``template`` (an action-server request) ``count`` times, each as a new conversation.

        Each copy gets a fresh sender id and ``form_started_at``; an answer counts as a filed
        report when ``expect`` occurs in its body. Bounded by count and ``max_seconds``.
        ``headers`` are sent with every call (the action server's bearer token).
        """
        headers = dict(request.get("headers") or {})
        template = json.dumps(request["template"])
        count, concurrency = int(request["count"]), int(request.get("concurrency", 8))
        deadline = time.perf_counter() + float(request.get("max_seconds", 60))
        expect = request.get("expect", "")
        latencies: List[float] = []
        errors: List[str] = []
        started_count = itertools.count()
        started = time.perf_counter()

        async def worker() -> None:
            while next(started_count) < count and time.perf_counter() < deadline:
                number = next(self._ids)
                sender = f"bench-store-{self._prefix}-{number}-{uuid.uuid4().hex[:6]}"
                body = json.loads(template.replace("__SENDER__", sender))
                body["tracker"]["slots"]["form_started_at"] = time.time() + number / 1e6
                begun = time.perf_counter()
                try:
                    async with self.session.post(request["url"], json=body, headers=headers) as response:
                        text = await response.text()
                    if response.status != 200 or (expect and expect not in text):
                        errors.append(f"HTTP {response.status}: {text[:200]}")
                        continue
                    latencies.append(time.perf_counter() - begun)
                except Exception as error:  # noqa: BLE001 - counted and reported
                    errors.append(f"{type(error).__name__}: {error}"[:200])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return {"filed": len(latencies), "errors": len(errors), "error_samples": sorted(set(errors))[:3],
                "elapsed_s": elapsed, "per_second": len(latencies) / elapsed if elapsed else None,
                "latency_ms": summary(latencies)}

    async def cmd_calibrate(self, request: dict) -> dict:
        """Replies per turn of ``script`` on a channel: one conversation, waiting for quiet."""
        run = Run(self, {**request, "concurrency": 1})
        quiet = float(request.get("quiet_seconds", 1.5))
        limit = float(request.get("turn_timeout", 60))
        user = run.new_user()
        counts = []
        for turn in run.script:
            before = self.arrivals.count(run.provider, user["recipient"])
            await run.post(user, turn)
            started = time.perf_counter()
            last_count, last_change = before, time.perf_counter()
            while time.perf_counter() - started < limit:
                await asyncio.sleep(0.05)
                count = self.arrivals.count(run.provider, user["recipient"])
                if count != last_count:
                    last_count, last_change = count, time.perf_counter()
                elif count > before and time.perf_counter() - last_change >= quiet:
                    break
            counts.append(last_count - before)
        methods = [method for method, _ in self.arrivals.by_recipient.get((run.provider, user["recipient"]), [])]
        return {"expected": counts, "methods": methods}


class Run:
    """One bounded measurement: ``concurrency`` users, each going through conversations."""

    def __init__(self, load: Load, request: dict) -> None:
        self.load = load
        self.kind: str = request["kind"]  # rest | telegram | sms
        self.url: str = request["url"].rstrip("/")
        self.path: str = request.get("path") or f"/webhooks/{self.kind}/webhook"
        self.concurrency = int(request.get("concurrency", 1))
        self.max_turns = int(request.get("max_turns", 100))
        self.max_seconds = float(request.get("max_seconds", 10))
        self.max_conversations = request.get("max_conversations")
        self.turn_timeout = float(request.get("turn_timeout", 60))
        self.script: List[dict] = request["script"]
        self.expected: List[int] = request.get("expected") or [1] * len(self.script)
        self.secret: str = request.get("secret", "")
        self.twilio: dict = request.get("twilio", {})
        self.provider = {"telegram": "telegram", "sms": "twilio", "whatsapp": "twilio"}.get(self.kind, "rest")
        self.latencies: Dict[str, List[float]] = {"text": [], "voice": []}
        self.acks: Dict[str, List[float]] = {"text": [], "voice": []}
        self.errors: List[str] = []
        self.turns = 0
        self.conversations = 0
        self._started_turns = 0
        self._started_conversations = 0
        self._last_done = 0.0

    def new_user(self) -> dict:
        number = next(self.load._ids)
        if self.kind == "telegram":
            chat_id = 6_000_000_000 + self.load._prefix * 100_000 + number
            return {"recipient": str(chat_id), "chat_id": chat_id, "update": chat_id * 100}
        if self.kind in ("sms", "whatsapp"):
            # E.164: at most 15 digits. Never truncate: two users must never share a number.
            phone = f"+62813{self.load._prefix % 10000:04d}{number:05d}"
            address = f"whatsapp:{phone}" if self.kind == "whatsapp" else phone
            return {"recipient": address, "from": address, "n": 0}
        return {"recipient": f"bench-{uuid.uuid4().hex[:12]}", "sender": None}

    # One webhook call -----------------------------------------------------------------
    async def post(self, user: dict, turn: dict) -> Any:
        session = self.load.session
        url = self.url + self.path
        if self.kind == "rest":
            body = {"sender": user["recipient"], "message": turn["text"]}
            if turn.get("metadata"):
                body["metadata"] = turn["metadata"]
            async with session.post(url, json=body) as response:
                payload = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"rest HTTP {response.status}: {payload[:200]!r}")
                return json.loads(payload)
        if self.kind == "telegram":
            user["update"] += 1
            message: Dict[str, Any] = {
                "message_id": user["update"] % 1_000_000,
                "from": {"id": user["chat_id"], "is_bot": False, "first_name": "Bench", "language_code": "id"},
                "chat": {"id": user["chat_id"], "first_name": "Bench", "type": "private"},
                "date": int(time.time()),
            }
            if "voice" in turn:
                voice = self.load.voices[turn["voice"]]
                message["voice"] = {"duration": voice["duration"], "mime_type": "audio/ogg",
                                    "file_id": turn["voice"], "file_unique_id": f"u-{turn['voice']}",
                                    "file_size": voice["size"]}
            else:
                message["text"] = turn["text"]
            update = {"update_id": user["update"], "message": message}
            async with session.post(url, json=update, headers={SECRET_HEADER: self.secret}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"telegram webhook HTTP {response.status}")
                return None
        # Twilio (SMS / WhatsApp): a signed form post.
        from twilio.request_validator import RequestValidator

        user["n"] += 1
        sid = "SM" + uuid.uuid4().hex
        params = {
            "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": self.twilio["sid"],
            "From": user["from"], "To": self.twilio["to"], "NumSegments": "1", "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        if "voice" in turn:
            params.update({"Body": "", "NumMedia": "1", "MediaContentType0": "audio/ogg",
                           "MediaUrl0": f"{self.twilio['media_base']}/2010-04-01/Accounts/{self.twilio['sid']}"
                                        f"/Messages/MM{uuid.uuid4().hex}/Media/{turn['voice']}"})
        else:
            params.update({"Body": turn["text"], "NumMedia": "0"})
        public = self.twilio.get("public_url", self.url) + self.path
        signature = RequestValidator(self.twilio["token"]).compute_signature(public, params)
        async with session.post(url, data=urlencode(params),
                                headers={"X-Twilio-Signature": signature,
                                         "Content-Type": "application/x-www-form-urlencoded"}) as response:
            await response.read()
            if response.status >= 300:
                raise RuntimeError(f"{self.kind} webhook HTTP {response.status}")
            return None

    async def turn(self, user: dict, index: int) -> None:
        turn = self.script[index]
        kind = "voice" if "voice" in turn else "text"
        loop = asyncio.get_running_loop()
        if self.kind == "rest":
            started = time.perf_counter()
            await asyncio.wait_for(self.post(user, turn), self.turn_timeout)
            done = time.perf_counter()
            self.acks[kind].append(done - started)
        else:
            needed = self.load.arrivals.count(self.provider, user["recipient"]) + max(1, self.expected[index])
            reply = self.load.arrivals.wait_for(loop, self.provider, user["recipient"], needed)
            started = time.perf_counter()
            try:
                await asyncio.wait_for(self.post(user, turn), self.turn_timeout)
                self.acks[kind].append(time.perf_counter() - started)
                done = await asyncio.wait_for(reply, self.turn_timeout)
            finally:
                if not reply.done():
                    reply.cancel()
        self.latencies[kind].append(done - started)
        self._last_done = max(self._last_done, done)
        self.turns += 1

    def _may_start(self, deadline: float) -> bool:
        return self._started_turns < self.max_turns and time.perf_counter() < deadline

    async def worker(self, deadline: float) -> None:
        while self._may_start(deadline):
            if self.max_conversations is not None and self._started_conversations >= int(self.max_conversations):
                return
            self._started_conversations += 1
            user = self.new_user()
            completed = True
            for index in range(len(self.script)):
                if not self._may_start(deadline):
                    completed = False
                    break
                self._started_turns += 1
                try:
                    await self.turn(user, index)
                except Exception as error:  # noqa: BLE001 - counted and reported
                    self.errors.append(f"{type(error).__name__}: {error}"[:200])
                    completed = False
                    break
            if completed:
                self.conversations += 1
            self.load.arrivals.forget(self.provider, user["recipient"])

    async def execute(self) -> dict:
        started = time.perf_counter()
        deadline = started + self.max_seconds
        await asyncio.gather(*(self.worker(deadline) for _ in range(self.concurrency)))
        elapsed = max((self._last_done or time.perf_counter()) - started, 1e-9)
        all_latencies = self.latencies["text"] + self.latencies["voice"]
        return {
            "kind": self.kind, "concurrency": self.concurrency, "turns": self.turns,
            "conversations": self.conversations, "errors": len(self.errors),
            "error_samples": sorted(set(self.errors))[:3], "elapsed_s": elapsed,
            "throughput": self.turns / elapsed, "latency_ms": summary(all_latencies),
            "latency_text_ms": summary(self.latencies["text"]),
            "latency_voice_ms": summary(self.latencies["voice"]),
            "ack_ms": summary(self.acks["text"] + self.acks["voice"]),
            "ack_text_ms": summary(self.acks["text"]), "ack_voice_ms": summary(self.acks["voice"]),
        }


async def serve_commands(max_lifetime: float) -> None:
    load = Load()
    await load.open()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    deadline = time.monotonic() + max_lifetime
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("load process reached its maximum lifetime; stopping")
                return
            try:
                line = await asyncio.wait_for(reader.readline(), remaining)
            except asyncio.TimeoutError:
                continue
            if not line:
                return  # the runner went away
            request = json.loads(line)
            command = request.get("cmd")
            if command == "quit":
                return
            try:
                result = await getattr(load, f"cmd_{command}")(request)
                answer = {"ok": True, **result}
            except Exception as error:  # noqa: BLE001 - reported to the runner
                log.exception("command %s failed", command)
                answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        await load.close()


async def run_once(request: dict) -> dict:
    load = Load()
    await load.open()
    try:
        return await getattr(load, f"cmd_{request['cmd']}")(request)
    finally:
        await load.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", help="run one JSON command and print its result")
    parser.add_argument("--max-lifetime", type=float, default=float(os.environ.get("BENCH_LOAD_LIFETIME", 5400)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s load %(levelname)s %(message)s")
    if args.once:
        print(json.dumps(asyncio.run(run_once(json.loads(args.once))), indent=2))
        return 0
    asyncio.run(serve_commands(args.max_lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
