"""Section "long" of the benchmark (issue 18): does a turn cost more late in a conversation?

:data:`CONVERSATIONS` conversations over REST against the running stack, one after the other: a
complaint is started ("saya mau mengadu"), then "bantuan" and "ulangi" alternate for :data:`TURNS` messages, the form asking its question
again each time, so every turn adds events and none ends the conversation. For three blocks of
:data:`BLOCK` turns around turns 5, 50 and 150 it reports the median latency and the CPU time per
turn of each process (Rasa, action server, gateway), read from /proc around the block (medians
over the conversations, and the ratios of those medians): CPU time,
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
CONVERSATIONS = 5  # per run (2 with --quick): about 6 s each on two cores


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


def combine(runs: List[List[Block]]) -> List[Block]:
    """Per turn, the median over conversations of each block's latency and of each process's CPU."""
    turns = [block.turn for block in runs[0]] if runs else []
    combined = []
    for index, turn in enumerate(turns):
        blocks = [blocks[index] for blocks in runs if len(blocks) > index]
        names = blocks[0].cpu_ms.keys()
        cpu = {name: None if any(block.cpu_ms.get(name) is None for block in blocks)
               else statistics.median(block.cpu_ms[name] for block in blocks) for name in names}
        combined.append(Block(turn, statistics.median(block.latency_ms for block in blocks), cpu))
    return combined


def total_cpu(block: Block) -> float:
    """Milliseconds of CPU per turn over every process measured."""
    return sum(value or 0.0 for value in block.cpu_ms.values())


def ends(blocks: List[Block]) -> Optional[tuple]:
    """The blocks of the first and the last turn in :data:`AT`, or None when one is missing."""
    by_turn = {block.turn: block for block in blocks}
    first, last = by_turn.get(AT[0]), by_turn.get(AT[-1])
    return (first, last) if first and last else None


def ratios(blocks: List[Block]) -> Optional[tuple]:
    """(CPU of all processes, median latency) of the last block against the first, or None."""
    found = ends(blocks)
    if found is None:
        return None
    first, last = found
    return ratio(total_cpu(last), total_cpu(first)), ratio(last.latency_ms, first.latency_ms)


def _spread(values) -> str:
    return "/".join(f"{value:.2f}" for value in values)


def measure(bench) -> None:
    """The section: :data:`CONVERSATIONS` conversations over REST, one after the other; rows per
    block (medians over the conversations) and the 150-vs-5 ratios of those medians, with each
    conversation's own ratio printed beside them.

    Why several: the ratio of one conversation's blocks moved by 0.8-1.4x between runs on an
    idle machine (2026-12-03); the blocks' medians over conversations move far less.
    """
    import secrets

    from bench.measure import cpu_seconds, load_average

    servers = bench.servers
    processes = {"rasa": servers.processes[1].pid, "actions": servers.processes[0].pid, "gateway": servers.gateway.pid}
    runs = []
    for _ in range(CONVERSATIONS if bench.reps > 1 else 2):
        sender = "long-" + secrets.token_hex(6)
        runs.append(run(lambda text: post_rest(servers.rasa_url, sender, text),
                        lambda: {name: cpu_seconds(pid) for name, pid in processes.items()}))
    blocks = combine(runs)
    each = [found for found in (ratios(blocks) for blocks in runs) if found is not None]
    bench.results["long_conversation"] = {
        "runs": [[block.__dict__ for block in blocks] for blocks in runs],
        "blocks": [block.__dict__ for block in blocks],
        "ratios_per_conversation": [{"cpu": cpu, "latency": latency} for cpu, latency in each],
        "load_average": load_average()}
    for block in blocks:
        parts = "; ".join(f"{name} {value:.1f}" for name, value in block.cpu_ms.items() if value is not None)
        bench.row("18 long convers.", f"REST turn {block.turn} (turns {block_of(block.turn)[0]}-{block_of(block.turn)[-1]}):"
                  " p50 latency; ms of CPU per turn", f"{block.latency_ms:.1f} ms; {parts}")
    found = ends(blocks)
    if found is not None:
        # The verdict is on the ratio of the medians: a block's median over the conversations
        # is robust to one noisy block, a ratio of two single blocks compounds their noise.
        first, last = found
        cpu_ratio, latency_ratio = ratios(blocks)
        bench.row("18 long convers.", f"turn {last.turn} / turn {first.turn}: CPU of all our processes",
                  f"{cpu_ratio:.2f}x ({total_cpu(last):.1f} / {total_cpu(first):.1f} ms; each conversation "
                  f"{_spread(cpu for cpu, _ in each)})", f"<= {TARGET_RATIO}x", cpu_ratio <= TARGET_RATIO)
        bench.row("18 long convers.", f"turn {last.turn} / turn {first.turn}: median latency",
                  f"{latency_ratio:.2f}x ({last.latency_ms:.1f} / {first.latency_ms:.1f} ms; each conversation "
                  f"{_spread(latency for _, latency in each)})", f"<= {TARGET_RATIO}x", latency_ratio <= TARGET_RATIO)
