"""The one benchmark command: starts the real servers, drives load from a second process, prints one table.

    .venv/bin/python -m bench.run            # full run (about 15 minutes on two cores)
    .venv/bin/python -m bench.run --quick    # short runs, one repetition: to check it works
    bash bench/run.sh                        # the same on a fresh machine (bootstraps the venv)

Why it is built this way (issue 6): every comparison is a ratio of runs made in the same
repetition, targets interleaved, so drift of a shared machine hits both sides alike; every
figure is the median over repetitions; load comes from bench.load in its own process over
loopback, which also hosts the fake Telegram and Twilio APIs so a channel turn is timed from
the webhook POST to the reply reaching the provider. Results go to stdout as one table and, as
JSON, to ``--json`` (default: the run's temporary folder).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bench.measure import LoadProcess, cpu_seconds, descendants, fmt, load_average, median, rss_mb
from bot.settings import ROOT

log = logging.getLogger("bench")

OUR_SCRIPT = [
    {"text": "halo"},
    {"text": "saya mau mengadu"},
    {"text": "jalan di depan rumah saya rusak parah dan berlubang"},
]
# The `rasa init` assistant speaks English; the same shape of conversation, three turns.
DEFAULT_SCRIPT = [{"text": "hello"}, {"text": "I am sad"}, {"text": "yes"}]
TRACKING_NUMBER = re.compile(r"\b\d{4}-\d{4}\b")


def _process_start_time() -> float:
    """Wall-clock time this process was started (the moment the run command was typed)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = float(next(line.split()[1] for line in Path("/proc/stat").read_text().splitlines()
                          if line.startswith("btime")))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return time.time()


@dataclass
class Row:
    section: str
    figure: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    env: Dict[str, str]
    results: Dict[str, Any] = field(default_factory=dict)
    rows: List[Row] = field(default_factory=list)
    load: Optional[LoadProcess] = None
    servers: Any = None
    default_server: Any = None
    fakes: Dict[str, Any] = field(default_factory=dict)
    settings: Any = None
    model: Optional[Path] = None
    channels: List[str] = field(default_factory=list)
    voices: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def row(self, section: str, figure: str, value: str, target: str = "", ok: Optional[bool] = None) -> None:
        verdict = "" if ok is None else ("holds" if ok else "MISSES")
        self.rows.append(Row(section, figure, value, target, verdict))
        print(f"  {section} | {figure}: {value}" + (f"  (target {target}: {verdict})" if target else ""), flush=True)

    @property
    def reps(self) -> int:
        return self.args.reps

    def run_load(self, **request: Any) -> Dict[str, Any]:
        return self.load.call(cmd="run", **request)


# ------------------------------------------------------------------------------ set-up
def bench_env(workdir: Path) -> Dict[str, str]:
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    home = os.environ.get("SAPALAPOR_HOME") or str(Path.home() / ".cache" / "sapalapor")
    env = dict(os.environ)
    env.update({
        "SAPALAPOR_DATA_DIR": str(data),
        "SAPALAPOR_DATABASE_URL": f"sqlite:///{data / 'sapalapor.db'}",
        "SAPALAPOR_TRACKER_URL": f"sqlite:///{data / 'tracker.db'}",
        "SAPALAPOR_IDENTITY_KEY": "bench-" + secrets.token_hex(16),
        "SAPALAPOR_MODEL_DIR": os.environ.get("SAPALAPOR_MODEL_DIR") or str(Path(home) / "models"),
        "TELEGRAM_BOT_TOKEN": "7000000001:" + secrets.token_urlsafe(24).replace("-", "A"),
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_SMS_FROM": "+15005550006",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+15005550006",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    })
    return env


def available_channels() -> List[str]:
    return [name for name in ("telegram", "sms") if importlib.util.find_spec(f"channels.{name}") is not None]


def prepare(bench: Bench) -> None:
    from bench.baseline import ensure_default_model
    from bench.voices import COMPLAINT_5S, COMPLAINT_5S_SPEED, voice_note
    from bot.rasa_project import ensure_model
    from bot.settings import load_settings

    os.environ.update(bench.env)
    settings = load_settings(environ=bench.env)
    started = time.perf_counter()
    fresh = not any(Path(bench.env["SAPALAPOR_MODEL_DIR"]).glob("sapalapor-*.tar.gz"))
    bench.model = ensure_model(settings)
    bench.results["model_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    ensure_default_model()
    bench.results["default_model_seconds"] = time.perf_counter() - started
    if fresh:
        print(f"  (our model was trained in {bench.results['model_seconds']:.0f} s; not counted as start-up)")

    bench.load = LoadProcess(bench.workdir / "load.log", env=bench.env)
    fakes = bench.load.call(cmd="fakes", telegram_token=bench.env["TELEGRAM_BOT_TOKEN"],
                            twilio_sid=bench.env["TWILIO_ACCOUNT_SID"], twilio_token=bench.env["TWILIO_AUTH_TOKEN"])
    bench.fakes = fakes
    bench.env.update({"TELEGRAM_API_BASE_URL": fakes["telegram_url"], "TWILIO_API_BASE_URL": fakes["twilio_url"],
                      "GTTS_BASE_URL": bench.env.get("GTTS_BASE_URL", "")})
    note = voice_note(COMPLAINT_5S, bench.workdir / "voices", seconds=5.0, speed=COMPLAINT_5S_SPEED)
    bench.load.call(cmd="voice", id="complaint5s", path=str(note), duration=5.0)
    bench.voices["complaint5s"] = {"path": str(note), "text": COMPLAINT_5S, "seconds": 5.0}
    bench.channels = available_channels()
    for name in bench.channels:
        bench.env[f"SAPALAPOR_{name.upper()}_ENABLED"] = "true"
    bench.results["fakes"] = fakes.get("fakes")


def start_stack(bench: Bench) -> None:
    from bot.rasa_project import free_port, start_servers
    from bot.settings import load_settings
    from storage.db import Database

    port = free_port()
    bench.env["SAPALAPOR_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    os.environ.update(bench.env)
    bench.settings = load_settings(environ=bench.env)
    Database.shared(bench.settings.database_url).migrate()
    started = time.perf_counter()
    bench.servers = start_servers(bench.settings, bench.model, bench.workdir / "runtime", port=port, env=bench.env)
    bench.results["stack_start_seconds"] = time.perf_counter() - started
    bench.row("6 start-up", "action server, Rasa server, channel gateway (Telegram, SMS on) until all answer",
              fmt(bench.results["stack_start_seconds"], 1, " s"))


# ------------------------------------------------------------------------ measurements
def measure_startup(bench: Bench) -> None:
    """Time from `python -m bot run --no-chat` to its "Ready:" line, model already trained."""
    from bot.rasa_project import free_port

    times = []
    for attempt in range(bench.args.startup_runs):
        data = bench.workdir / f"startup-{attempt}"
        env = dict(bench.env)
        env.update({
            "SAPALAPOR_DATA_DIR": str(data), "SAPALAPOR_PORT": str(free_port()),
            "SAPALAPOR_ACTION_PORT": str(free_port()), "SAPALAPOR_RASA_PORT": str(free_port()),
            "SAPALAPOR_DATABASE_URL": f"sqlite:///{data / 'sapalapor.db'}",
            "SAPALAPOR_TRACKER_URL": f"sqlite:///{data / 'tracker.db'}",
        })
        for name in ("telegram", "sms"):
            env.pop(f"SAPALAPOR_{name.upper()}_ENABLED", None)
        env.pop("SAPALAPOR_PUBLIC_URL", None)
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--no-chat"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=open(bench.workdir / f"startup-{attempt}.log", "ab"), text=True)
        ready = None
        try:
            for line in process.stdout:
                if line.startswith("Ready:"):
                    ready = time.perf_counter() - started
                    break
        finally:
            # `bot run` installs its SIGTERM handler just after printing Ready: give it a moment,
            # and stop whatever servers it started even if it dies without stopping them.
            time.sleep(2.0)
            children = descendants(process.pid)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
        if ready is None:
            raise RuntimeError(f"`python -m bot run` never became ready; see {bench.workdir}/startup-{attempt}.log")
        times.append(ready)
    bench.results["startup_seconds"] = times
    bench.row("6 start-up", f"`python -m bot run` -> Ready (median of {len(times)})", fmt(median(times), 1, " s"))


def warm_up(bench: Bench) -> None:
    rasa_url = bench.servers.rasa_url
    bench.run_load(kind="rest", url=rasa_url, concurrency=2, max_turns=30, max_seconds=30, script=OUR_SCRIPT)
    bench.run_load(kind="rest", url=bench.default_server.url, concurrency=2, max_turns=30, max_seconds=30,
                   script=DEFAULT_SCRIPT)
    for channel in bench.channels:
        bench.run_load(**channel_request(bench, channel, OUR_SCRIPT), concurrency=2, max_turns=30, max_seconds=30)
    bench.results["rss_after_warmup_mb"] = memory(bench)


def memory(bench: Bench) -> Dict[str, Optional[float]]:
    action, rasa = bench.servers.processes[0], bench.servers.processes[1]
    found = {"rasa": rss_mb(rasa.pid), "actions": rss_mb(action.pid), "channels": rss_mb(bench.servers.gateway.pid)}
    if bench.default_server is not None:
        found["default_rasa"] = rss_mb(bench.default_server.process.pid)
    return found


def channel_request(bench: Bench, channel: str, script: List[dict], expected: Optional[List[int]] = None) -> dict:
    request = {"kind": channel, "url": bench.servers.channels_url, "script": script,
               "expected": expected or bench.results.get("expected", {}).get(channel)}
    if channel == "telegram":
        request["secret"] = bench.env["TELEGRAM_WEBHOOK_SECRET"]
    else:
        request["twilio"] = {"sid": bench.env["TWILIO_ACCOUNT_SID"], "token": bench.env["TWILIO_AUTH_TOKEN"],
                             "to": bench.env["TWILIO_SMS_FROM"], "public_url": bench.env["SAPALAPOR_PUBLIC_URL"],
                             "media_base": bench.fakes["twilio_url"]}
    return request


def calibrate(bench: Bench) -> None:
    """How many provider sends one turn of the script makes on each channel."""
    expected = {}
    for channel in bench.channels:
        answer = bench.load.call(cmd="calibrate", **channel_request(bench, channel, OUR_SCRIPT, [1] * len(OUR_SCRIPT)))
        expected[channel] = answer["expected"]
        if any(count == 0 for count in answer["expected"]):
            raise RuntimeError(f"{channel}: a turn of the benchmark script got no reply: {answer}")
    bench.results["expected"] = expected


def text_turns(bench: Bench) -> None:
    """Issue 6 items 1 and 2: REST baseline, our channels, and the default assistant."""
    targets: Dict[str, Callable[[], dict]] = {
        "default_rest": lambda: {"kind": "rest", "url": bench.default_server.url, "script": DEFAULT_SCRIPT},
        "rest": lambda: {"kind": "rest", "url": bench.servers.rasa_url, "script": OUR_SCRIPT},
    }
    for channel in bench.channels:
        targets[channel] = (lambda channel=channel: channel_request(bench, channel, OUR_SCRIPT))
    raw: Dict[str, Dict[int, List[dict]]] = {name: {} for name in targets}
    for concurrency in bench.args.concurrency:
        max_turns = bench.args.turns_per_user * concurrency if concurrency > 1 else bench.args.turns_single
        for rep in range(bench.reps):
            for name, request in targets.items():
                before = server_cpu(bench)
                result = bench.run_load(**request(), concurrency=concurrency, max_turns=max_turns,
                                        max_seconds=bench.args.seconds, turn_timeout=60)
                result["cpu_ms_per_turn"] = cpu_per_turn(before, server_cpu(bench), result.get("turns"))
                result["load_average"] = load_average()
                raw[name].setdefault(concurrency, []).append(result)
                print(f"    c={concurrency:<3} rep {rep + 1} {name:<13} {result['throughput']:7.1f} turns/s"
                      f"  p50 {fmt(result['latency_ms']['p50'])} p95 {fmt(result['latency_ms']['p95'])}"
                      f" p99 {fmt(result['latency_ms']['p99'])} ms  errors {result['errors']}"
                      f"  (load {result['load_average']})", flush=True)
    bench.results["text_turns"] = raw
    summarise_text_turns(bench, raw)
    summarise_cpu(bench, raw)


def server_cpu(bench: Bench) -> Dict[str, Optional[float]]:
    """CPU seconds so far of each process a turn can touch (the speech worker counts as the gateway's)."""
    processes = {"rasa": bench.servers.processes[1].pid, "actions": bench.servers.processes[0].pid,
                 "gateway": bench.servers.gateway.pid, "load generator and fakes": bench.load.process.pid}
    if bench.default_server is not None:
        processes["rasa init"] = bench.default_server.process.pid
    return {name: cpu_seconds(pid) for name, pid in processes.items()}


def cpu_per_turn(before: Dict[str, Optional[float]], after: Dict[str, Optional[float]],
                 turns: Optional[int]) -> Dict[str, Optional[float]]:
    if not turns:
        return {}
    return {name: None if before.get(name) is None or after.get(name) is None
            else 1000.0 * (after[name] - before[name]) / turns for name in after}


def summarise_cpu(bench: Bench, raw: Dict[str, Dict[int, List[dict]]]) -> None:
    """Where a turn's CPU goes, per process, at the highest concurrency (median of repetitions)."""
    concurrency = max(bench.args.concurrency)
    for name, by_concurrency in raw.items():
        runs = [run.get("cpu_ms_per_turn") or {} for run in by_concurrency.get(concurrency, [])]
        processes = ["rasa init"] if name == "default_rest" else ["rasa", "actions", "gateway"]
        parts = []
        for process in [*processes, "load generator and fakes"]:
            values = [run[process] for run in runs if run.get(process) is not None]
            if values:
                parts.append(f"{process} {median(values):.1f}")
        bench.row("1 CPU per turn", f"{name} c={concurrency}: ms of CPU per turn, by process", "; ".join(parts) or "n/a")
    ours_vs_default(bench, raw, concurrency)


OURS_PROCESSES = ("rasa", "actions", "gateway")
CPU_TARGET = 0.6


def turn_cpu(run: dict, processes) -> Optional[float]:
    """CPU milliseconds of one turn over ``processes`` (None if one of them was not measured)."""
    cpu = run.get("cpu_ms_per_turn") or {}
    values = [cpu.get(process) for process in processes]
    return None if any(value is None for value in values) else sum(values)


def ours_vs_default(bench: Bench, raw: Dict[str, Dict[int, List[dict]]], concurrency: int) -> None:
    """Issue 18: a channel turn over all our processes against a `rasa init` turn, per repetition."""
    defaults = raw.get("default_rest", {}).get(concurrency, [])
    for name in [name for name in raw if name not in ("default_rest", "rest")]:
        ratios = []
        for ours, default in zip(raw[name].get(concurrency, []), defaults):
            mine, theirs = turn_cpu(ours, OURS_PROCESSES), turn_cpu(default, ("rasa init",))
            if mine is not None and theirs:
                ratios.append(mine / theirs)
        if ratios:
            value = median(ratios)
            bench.row("18 CPU vs init", f"{name} turn CPU (rasa + actions + gateway) / `rasa init` turn, c={concurrency}",
                      f"{value:.2f}x", f"<= {CPU_TARGET}x", value <= CPU_TARGET)


def summarise_text_turns(bench: Bench, raw: Dict[str, Dict[int, List[dict]]]) -> None:
    table = {}
    for name, by_concurrency in raw.items():
        for concurrency, runs in by_concurrency.items():
            table[(name, concurrency)] = {
                "throughput": median(run["throughput"] for run in runs),
                "p50": median(run["latency_ms"]["p50"] for run in runs),
                "p95": median(run["latency_ms"]["p95"] for run in runs),
                "p99": median(run["latency_ms"]["p99"] for run in runs),
                "errors": sum(run["errors"] for run in runs),
            }
    bench.results["text_turns_median"] = {f"{name}@{c}": value for (name, c), value in table.items()}
    for (name, concurrency), value in table.items():
        bench.row("1 text turns", f"{name} c={concurrency}",
                  f"{fmt(value['throughput'])} turns/s; p50/p95/p99 {fmt(value['p50'])}/{fmt(value['p95'])}/"
                  f"{fmt(value['p99'])} ms" + (f"; {value['errors']} errors" if value["errors"] else ""))
    # Ratios inside each repetition, then their median.
    for channel in bench.channels:
        for concurrency in bench.args.concurrency:
            ours, base = raw[channel].get(concurrency, []), raw["rest"].get(concurrency, [])
            ratios = [a["throughput"] / b["throughput"] for a, b in zip(ours, base) if b["throughput"]]
            added = [a["latency_ms"]["p95"] - b["latency_ms"]["p95"] for a, b in zip(ours, base)
                     if a["latency_ms"]["p95"] is not None and b["latency_ms"]["p95"] is not None]
            ratio, extra = median(ratios), median(added)
            bench.results.setdefault("channel_vs_rest", {})[f"{channel}@{concurrency}"] = {
                "throughput_ratio": ratio, "added_p95_ms": extra}
            bench.row("1 text turns", f"{channel}/REST throughput c={concurrency}", fmt(ratio, 2) + "x",
                      ">= 0.95x", None if ratio is None else ratio >= 0.95)
            bench.row("1 text turns", f"{channel} added p95 c={concurrency}", fmt(extra, 1, " ms"),
                      "< 5 ms", None if extra is None else extra < 5.0)
    for name in ["rest", *bench.channels]:
        for concurrency in bench.args.concurrency:
            ours, base = raw[name].get(concurrency, []), raw["default_rest"].get(concurrency, [])
            ratio = median(a["throughput"] / b["throughput"] for a, b in zip(ours, base) if b["throughput"])
            bench.results.setdefault("ours_vs_default", {})[f"{name}@{concurrency}"] = ratio
            bench.row("2 vs rasa init", f"ours via {name} / default REST c={concurrency}", fmt(ratio, 2) + "x",
                      ">= 3x", None if ratio is None else ratio >= 3.0)


def acknowledgement_under_voice(bench: Bench) -> None:
    """Item 3: webhook answers while speech-to-text is busy (every other message a voice note)."""
    if "telegram" not in bench.channels:
        bench.row("3 ack with voice", "telegram", "n/a (no Telegram connector)")
        return
    script = [{"text": "halo"}, {"voice": "complaint5s"}, {"text": "saya mau mengadu"}, {"voice": "complaint5s"}]
    expected = bench.load.call(cmd="calibrate", **channel_request(bench, "telegram", script, [1] * len(script)),
                               quiet_seconds=3.0)["expected"]
    runs = []
    for rep in range(bench.reps):
        result = bench.run_load(**channel_request(bench, "telegram", script, expected),
                                concurrency=bench.args.voice_concurrency, max_turns=bench.args.voice_turns,
                                max_seconds=bench.args.voice_seconds, turn_timeout=120)
        result["load_average"] = load_average()
        runs.append(result)
        print(f"    rep {rep + 1}: ack p99 {fmt(result['ack_ms']['p99'])} ms (voice {fmt(result['ack_voice_ms']['p99'])},"
              f" text {fmt(result['ack_text_ms']['p99'])}); voice turns p50 {fmt(result['latency_voice_ms']['p50'])} ms;"
              f" {result['turns']} turns, errors {result['errors']} (load {result['load_average']})", flush=True)
    bench.results["ack_with_voice"] = runs
    p99 = median(run["ack_ms"]["p99"] for run in runs)
    bench.row("3 ack with voice", f"telegram ack p99, c={bench.args.voice_concurrency}, half voice notes",
              fmt(p99, 1, " ms"), "< 200 ms", None if p99 is None else p99 < 200)
    bench.row("3 ack with voice", "  voice-note turns under that load, p50/p95",
              f"{fmt(median(r['latency_voice_ms']['p50'] for r in runs), 0)}/"
              f"{fmt(median(r['latency_voice_ms']['p95'] for r in runs), 0)} ms")


def voice_turn(bench: Bench) -> None:
    """Item 4: a 5-second voice note -> the voice reply at the fake Telegram API, no other load."""
    if "telegram" not in bench.channels:
        bench.row("4 voice turn", "telegram", "n/a (no Telegram connector)")
        return
    script = [{"text": "/suara"}, {"voice": "complaint5s"}]
    calibration = bench.load.call(cmd="calibrate", **channel_request(bench, "telegram", script, [1, 1]),
                                  quiet_seconds=3.0)
    expected = calibration["expected"]
    bench.results["voice_turn_methods"] = calibration["methods"]
    latencies = []
    for rep in range(max(3, bench.reps)):
        result = bench.run_load(**channel_request(bench, "telegram", script, expected), concurrency=1,
                                max_turns=2, max_seconds=120, turn_timeout=120)
        if result["errors"] or result["latency_voice_ms"]["p50"] is None:
            raise RuntimeError(f"voice turn failed: {result['error_samples']}")
        latencies.append(result["latency_voice_ms"]["p50"])
    bench.results["voice_turn_ms"] = latencies
    sends = [method for method in calibration["methods"]]
    voice_back = "sendVoice" in sends
    value = median(latencies)
    bench.row("4 voice turn", "5 s voice note -> reply at provider (median)",
              fmt(value / 1000.0 if value else None, 2, " s") + ("" if voice_back else " (no voice reply sent!)"),
              "< 2.5 s", None if value is None else (value < 2500 and voice_back))


ACCESSIBILITY_FIGURES = [
    # (pattern in bench/accessibility.py's output, figure, unit, target, limit)
    (r"real-time factor ([0-9.]+), WER ([0-9.]+)", "speech-to-text real-time factor (Whisper base int8)", "", "< 0.25", 0.25),
    (r"text-to-speech espeak-ng: cold median ([0-9.]+) ms", "text-to-speech espeak-ng, not cached (median)", " ms", "", None),
    (r"text-to-speech espeak-ng: .*cached median ([0-9.]+) ms", "cached prompt, espeak-ng (median)", " ms", "< 20 ms", 20.0),
    (r"text-to-speech gTTS \(loopback fake\): .*cached median ([0-9.]+) ms", "cached prompt, gTTS (median)", " ms",
     "< 20 ms", 20.0),
    (r"text turn through the layer .*total median ([0-9.]+) ms", "accessibility layer cost of a text turn (median)",
     " ms", "", None),
]


def accessibility_parts(bench: Bench) -> None:
    """Item 4 parts measured by the accessibility engineer's bench/accessibility.py (reused as is)."""
    script = ROOT / "bench" / "accessibility.py"
    if not script.exists():
        bench.row("4 voice parts", "bench/accessibility.py", "n/a (not written yet)")
        return
    clips, turns = ("3", "30") if bench.args.quick else ("6", "100")
    outputs = []
    for _ in range(1):
        completed = subprocess.run([sys.executable, "-m", "bench.accessibility", "--clips", clips, "--turns", turns],
                                   cwd=ROOT, env=bench.env, capture_output=True, text=True, timeout=1200)
        with open(bench.workdir / "accessibility.log", "a") as log_file:
            log_file.write(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            bench.row("4 voice parts", "bench/accessibility.py",
                      f"failed (exit {completed.returncode}); see {bench.workdir / 'accessibility.log'}")
            return
        outputs.append(completed.stdout)
    bench.results["accessibility_output"] = outputs
    for pattern, figure, unit, target, limit in ACCESSIBILITY_FIGURES:
        values = [float(match.group(1)) for output in outputs for match in [re.search(pattern, output)] if match]
        value = median(values)
        bench.row("4 voice parts", figure, fmt(value, 2, unit), target,
                  None if limit is None or value is None else value < limit)
    wer = [float(match.group(2)) for output in outputs for match in [re.search(ACCESSIBILITY_FIGURES[0][0], output)]
           if match]
    if wer:
        bench.row("4 voice parts", "speech-to-text word error rate (synthetic espeak speech)", fmt(median(wer), 2))


def memory_soak(bench: Bench) -> None:
    """Item 6: RSS after warm-up and after --conversations more conversations (whole stack)."""
    # Taken now, after every other section: speech models and caches are loaded by then, so any
    # difference below is what the conversations themselves left behind.
    before = memory(bench)
    warm = bench.results.get("rss_after_warmup_mb") or {}
    channel = "telegram" if "telegram" in bench.channels else None
    request = channel_request(bench, channel, OUR_SCRIPT[1:2], [bench.results["expected"][channel][1]]) \
        if channel else {"kind": "rest", "url": bench.servers.rasa_url, "script": OUR_SCRIPT[1:2]}
    total = bench.args.conversations
    result = bench.run_load(**request, concurrency=20, max_turns=total, max_conversations=total,
                            max_seconds=600, turn_timeout=60)
    after = memory(bench)
    bench.results["memory"] = {"before": before, "after": after, "soak": result}
    for process in ("rasa", "actions", "channels"):
        growth = None if after.get(process) is None or before.get(process) is None else after[process] - before[process]
        bench.row("6 memory", f"{process} RSS after warm-up -> after {result['conversations']} more conversations",
                  f"{fmt(before.get(process), 0)} -> {fmt(after.get(process), 0)} MB ({fmt(growth, 0, ' MB')})",
                  "no growth", None if growth is None else growth < 0.05 * before[process] + 10)
    bench.row("6 memory", "RSS after text warm-up: rasa / actions / channel gateway",
              f"{fmt(warm.get('rasa'), 0)} / {fmt(warm.get('actions'), 0)} / {fmt(warm.get('channels'), 0)} MB")
    if after.get("default_rasa") is not None:
        bench.row("6 memory", "rasa init assistant RSS (for comparison)", fmt(after["default_rasa"], 0, " MB"))


def nlu_accuracy(bench: Bench) -> None:
    """Item 2's accuracy condition, from the NLU engineer's held-out evaluation (run as is, lean only)."""
    script = ROOT / "bench" / "nlu_pipeline_comparison.py"
    if not script.exists():
        bench.row("2 vs rasa init", "intent accuracy on held-out text (ours)", "n/a (no evaluation script)")
        return
    completed = subprocess.run([sys.executable, str(script), "--only", "lean"], cwd=ROOT, env=bench.env,
                               capture_output=True, text=True, timeout=1200)
    (bench.workdir / "nlu.log").write_text(completed.stdout + completed.stderr)
    match = re.search(r"^lean \(bot/config.yml\)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)", completed.stdout, re.M)
    if completed.returncode != 0 or not match:
        bench.row("2 vs rasa init", "intent accuracy on held-out text (ours)",
                  f"evaluation failed (exit {completed.returncode}); see {bench.workdir / 'nlu.log'}")
        return
    accuracy, macro_f1, fallback = (float(group) for group in match.groups())
    bench.results["intent_accuracy"] = {"accuracy": accuracy, "macro_f1": macro_f1, "fallback_rate": fallback}
    bench.row("2 vs rasa init", "intent accuracy on held-out text (ours, lean pipeline)", fmt(accuracy, 3),
              ">= 0.90", accuracy >= 0.90)


SECTIONS = {
    "text": text_turns,
    "ack": acknowledgement_under_voice,
    "voice": voice_turn,
    "accessibility": accessibility_parts,
    "report": lambda bench: __import__("bench.report_filing", fromlist=["x"]).measure(bench),
    "storage": lambda bench: __import__("bench.storage_rate", fromlist=["x"]).measure(bench),
    "memory": memory_soak,
    "nlu": nlu_accuracy,
    "long": lambda bench: __import__("bench.long_conversation", fromlist=["x"]).measure(bench),
}


def print_table(bench: Bench) -> None:
    widths = [16, 58, 44, 10, 7]
    header = ["section", "figure", "value (median)", "target", "verdict"]
    line = " | ".join(title.ljust(width) for title, width in zip(header, widths))
    print("\n" + line)
    print("-" * len(line))
    for row in bench.rows:
        cells = [row.section, row.figure, row.value, row.target, row.verdict]
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)))
    print(f"\nload average at the end: {load_average()}; repetitions: {bench.reps}; results: {bench.args.json}")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="SapaLapor benchmarks (issue 6)")
    parser.add_argument("--quick", action="store_true", help="short runs and one repetition (smoke test)")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--only", nargs="*", choices=["startup", *SECTIONS], help="run only these sections")
    parser.add_argument("--skip", nargs="*", default=[], choices=["startup", *SECTIONS])
    parser.add_argument("--json", type=Path, default=None, help="where to write every raw result")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.reps = args.reps or (1 if quick else 3)
    args.concurrency = [1, 10] if quick else [1, 10, 50]
    args.seconds = 4.0 if quick else 7.0
    args.turns_single = 20 if quick else 80
    args.turns_per_user = 8 if quick else 15
    args.voice_concurrency = 4 if quick else 10
    args.voice_turns = 12 if quick else 60
    args.voice_seconds = 30.0 if quick else 30.0
    args.conversations = 100 if quick else 1000
    args.startup_runs = 1 if quick else 2
    args.storage_reports = 50 if quick else 300
    return args


def wanted(args: argparse.Namespace, name: str) -> bool:
    return (not args.only or name in args.only) and name not in args.skip


def main(argv: Optional[List[str]] = None) -> int:
    command_started = _process_start_time()
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="sapalapor-bench-"))
    args.json = args.json or workdir / "results.json"
    bench = Bench(args=args, workdir=workdir, env=bench_env(workdir))
    bench.results["load_average_start"] = load_average()
    print(f"==> SapaLapor benchmark in {workdir} (load average {load_average()})", flush=True)
    failures = 0
    try:
        print("==> Models (trained once, cached)", flush=True)
        prepare(bench)
        if wanted(args, "startup"):
            print("==> Start-up: `python -m bot run --no-chat` until ready", flush=True)
            measure_startup(bench)
        print("==> Starting the stack: action server, Rasa server, channel gateway (channels: "
              f"{', '.join(bench.channels) or 'REST only'}) and the `rasa init` assistant", flush=True)
        start_stack(bench)
        bench.results["command_to_ready_seconds"] = time.time() - command_started
        from bench.baseline import start_default_server

        bench.default_server = start_default_server(workdir / "default-runtime")
        print("==> Calibrating and warming up", flush=True)
        calibrate(bench)
        warm_up(bench)
        for name, section in SECTIONS.items():
            if not wanted(args, name):
                continue
            print(f"==> {name}", flush=True)
            try:
                section(bench)
            except Exception as error:  # noqa: BLE001 - one broken section must not hide the others
                failures += 1
                traceback.print_exc()
                bench.row(name, "section failed", f"{type(error).__name__}: {str(error)[:120]}")
    finally:
        if bench.default_server is not None:
            bench.default_server.stop()
        if bench.servers is not None:
            bench.servers.stop()
        if bench.load is not None:
            bench.load.close()
        bench.results["load_average_end"] = load_average()
        bench.results["table"] = [row.__dict__ for row in bench.rows]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(bench.results, indent=2, default=str))
        print_table(bench)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
