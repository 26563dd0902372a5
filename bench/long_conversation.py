"""Section "long" of the benchmark (issue 18): does a turn cost more late in a conversation?

One REST conversation against the running stack: a complaint is started ("saya mau mengadu"),
then "bantuan" and "ulangi" alternate for :data:`TURNS` messages, the form asking its question
again each time, so every turn adds events and none ends the conversation. For three blocks of
:data:`BLOCK` turns around turns 5, 50 and 150 it reports the median latency and the CPU time per
turn of each process (Rasa, action server, gateway), read from /proc around the block: CPU time,
not wall time, is what stays comparable on a shared machine. The turns are sent one at a time by
this process, so the CPU of a server during a block is that block's work. Over REST the gateway
takes no part; it is printed to show that.
"""
from __future__ import annotations

import json
import statistics
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

TURNS = 155
BLOCK = 10
AT = (5, 50, 150)
TARGET_RATIO = 1.2


def message(turn: int) -> str:
    """What the citizen sends at ``turn`` (1-based): a complaint, then help and repeat in turn."""
    if turn == 1:
        return "saya mau mengadu"
    return "bantuan" if turn % 2 == 0 else "ulangi"


def block_of(turn: int) -> range:
    """The turns measured for "turn N": BLOCK turns centred on N, never before turn 2."""
    first = max(2, turn - BLOCK // 2)
    return range(first, first + BLOCK)


@dataclass
class Block:
    turn: int
    latency_ms: float
    cpu_ms: Dict[str, Optional[float]]


def summarise(turn: int, latencies_s: List[float], cpu_before: Dict[str, Optional[float]],
              cpu_after: Dict[str, Optional[float]]) -> Block:
    """Median latency and CPU milliseconds per turn of each process over one block."""
    turns = len(latencies_s)
    cpu = {name: None if cpu_before.get(name) is None or cpu_after.get(name) is None
           else 1000.0 * (cpu_after[name] - cpu_before[name]) / turns for name in cpu_after}
    return Block(turn, 1000.0 * statistics.median(latencies_s), cpu)


def ratio(late: Optional[float], early: Optional[float]) -> Optional[float]:
    return None if late is None or not early else late / early


def post_rest(rasa_url: str, sender: str, text: str, timeout: float = 60.0) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def run(send: Callable[[str], list], cpu: Callable[[], Dict[str, Optional[float]]], turns: int = TURNS) -> List[Block]:
    """Send ``turns`` messages of one conversation; the blocks around :data:`AT` that fit."""
    wanted = {turn: block_of(turn) for turn in AT if block_of(turn)[-1] <= turns}
    starts = {block[0]: turn for turn, block in wanted.items()}
    blocks: List[Block] = []
    open_block: Optional[tuple] = None
    for number in range(1, turns + 1):
        if number in starts:
            open_block = (starts[number], cpu(), [])
        started = time.perf_counter()
        replies = send(message(number))
        elapsed = time.perf_counter() - started
        if not replies:
            raise RuntimeError(f"turn {number} ({message(number)!r}) got no reply")
        if open_block is not None:
            open_block[2].append(elapsed)
            if number == wanted[open_block[0]][-1]:
                blocks.append(summarise(open_block[0], open_block[2], open_block[1], cpu()))
                open_block = None
    return blocks


def measure(bench) -> None:
    """The section: one conversation over REST, then rows per block and the 150-vs-5 ratios."""
    import secrets

    from bench.measure import cpu_seconds, load_average

    servers = bench.servers
    processes = {"rasa": servers.processes[1].pid, "actions": servers.processes[0].pid, "gateway": servers.gateway.pid}
    sender = "long-" + secrets.token_hex(6)
    blocks = run(lambda text: post_rest(servers.rasa_url, sender, text),
                 lambda: {name: cpu_seconds(pid) for name, pid in processes.items()})
    bench.results["long_conversation"] = {"blocks": [block.__dict__ for block in blocks], "load_average": load_average()}
    by_turn = {block.turn: block for block in blocks}
    for block in blocks:
        parts = "; ".join(f"{name} {value:.1f}" for name, value in block.cpu_ms.items() if value is not None)
        bench.row("18 long convers.", f"REST turn {block.turn} (turns {block_of(block.turn)[0]}-{block_of(block.turn)[-1]}):"
                  " p50 latency; ms of CPU per turn", f"{block.latency_ms:.1f} ms; {parts}")
    first, last = by_turn.get(AT[0]), by_turn.get(AT[-1])
    if first and last:
        cpu_first = sum(value or 0.0 for value in first.cpu_ms.values())
        cpu_last = sum(value or 0.0 for value in last.cpu_ms.values())
        cpu_ratio = ratio(cpu_last, cpu_first)
        latency_ratio = ratio(last.latency_ms, first.latency_ms)
        bench.row("18 long convers.", f"turn {last.turn} / turn {first.turn}: CPU of all our processes",
                  f"{cpu_ratio:.2f}x ({cpu_last:.1f} / {cpu_first:.1f} ms)", f"<= {TARGET_RATIO}x",
                  cpu_ratio <= TARGET_RATIO)
        bench.row("18 long convers.", f"turn {last.turn} / turn {first.turn}: median latency",
                  f"{latency_ratio:.2f}x", f"<= {TARGET_RATIO}x", latency_ratio <= TARGET_RATIO)
