"""Issue 6 item 5: how many turns a citizen needs to file a typical complaint, by text and by voice.

Why scripted from the tracker: the user answers what the assistant actually asks (the form's
``requested_slot``, read from Rasa's tracker API), so the count follows the dialogue as it is
and does not break when questions are reordered; a read-back of a misheard voice answer counts
as the extra turn it costs a real user. Both filings go through Telegram, the whole stack.
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Dict, List, Optional

from bench.measure import fmt, median

TRACKING_NUMBER = re.compile(r"\b\d{4}-\d{4}\b")
MAX_TURNS = 20

OPENING = "saya mau mengadu"
# What a citizen says for each question of the report form (dialogs: bot/domain.yml, report_form).
ANSWERS: Dict[str, str] = {
    "report_type": "pengaduan",
    "description": ("Jalan di depan rumah saya rusak parah dan berlubang sejak dua minggu lalu, "
                    "sudah ada pengendara motor yang jatuh."),
    "location": "Jalan Merdeka nomor sepuluh, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
    "incident_date": "kemarin",
    "privacy": "rahasia",
    "report_confirmed": "ya, sudah benar",
    "heard_confirmed": "ya, benar",
    "field_to_correct": "tidak ada",
}
# The voice user greets, then picks from the spoken menus by number, as the voice prompts
# suggest. Spoken by espeak-ng and heard by Whisper base, "saya mau mengadu" comes out as
# "Saya mau menya du." and "ya, benar" as "R, R.", while "satu" and "nomor dua" survive.
VOICE_OPENING = "halo"
VOICE_MENU_CHOICE = "satu"  # 1. Buat pengaduan
VOICE_ANSWERS: Dict[str, str] = {**ANSWERS, "privacy": "nomor dua", "report_confirmed": "satu",
                                 "heard_confirmed": "satu"}


def tracker(rasa_url: str, sender: str) -> dict:
    with urllib.request.urlopen(f"{rasa_url}/conversations/{sender}/tracker", timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def form_state(rasa_url: str, sender: str) -> tuple:
    """(requested slot or None, what Rasa got for the user's last message (what STT heard), and
    the speech-to-text confidence of it (None when typed))."""
    state = tracker(rasa_url, sender)
    users = [event for event in state.get("events") or [] if event.get("event") == "user"]
    heard = users[-1].get("text") if users else None
    confidence = (users[-1].get("metadata") or {}).get("stt_confidence") if users else None
    return (state.get("slots") or {}).get("requested_slot"), heard, confidence


def file_one(bench, mode: str, name: str) -> dict:
    """File one complaint through Telegram, typed (``text``) or spoken (``voice``)."""
    from bench.voices import voice_note
    from storage.identity import identity_hash, sender_id

    key = bench.env["SAPALAPOR_IDENTITY_KEY"]
    turns: List[dict] = []
    recipient = None
    rasa_sender = None
    answer = VOICE_OPENING if mode == "voice" else OPENING
    for _ in range(MAX_TURNS):
        if mode == "voice":
            path = voice_note(answer, bench.workdir / "voices")
            voice_id = "say-" + path.stem
            bench.load.call(cmd="voice", id=voice_id, path=str(path), duration=max(1.0, len(answer) / 14.0))
            turn = {"voice": voice_id}
        else:
            turn = {"text": answer}
        result = bench.load.call(cmd="say", user=name, turn=turn, quiet_seconds=2.0, turn_timeout=120,
                                 **channel_fields(bench))
        recipient = result["recipient"]
        texts = [reply["text"] or "" for reply in result["replies"]]
        if rasa_sender is None:
            rasa_sender = sender_id("telegram", identity_hash(key, "telegram", str(recipient)))
        slot, heard, confidence = form_state(bench.servers.rasa_url, rasa_sender)
        turns.append({"said": answer, "heard": heard, "stt_confidence": confidence,
                      "elapsed_s": result["elapsed_s"], "replies": texts})
        if any(TRACKING_NUMBER.search(text) for text in texts):
            return {"mode": mode, "turns": len(turns), "filed": True, "log": turns,
                    "system_seconds": sum(turn["elapsed_s"] or 0.0 for turn in turns)}
        # No question pending: the assistant did not understand the opening; say it again.
        if mode == "voice":
            answer = VOICE_ANSWERS.get(slot, "satu") if slot else VOICE_MENU_CHOICE
        else:
            answer = ANSWERS.get(slot, "ya") if slot else OPENING
    return {"mode": mode, "turns": len(turns), "filed": False, "log": turns,
            "system_seconds": sum(turn["elapsed_s"] or 0.0 for turn in turns)}


def channel_fields(bench) -> dict:
    from bench.run import channel_request

    request = channel_request(bench, "telegram", [])
    request.pop("script", None)
    request.pop("expected", None)
    return request


def measure(bench) -> None:
    if "telegram" not in bench.channels:
        bench.row("5 whole report", "turns", "n/a (no Telegram connector)")
        return
    results = {"text": [], "voice": []}
    runs = 1
    for rep in range(runs):
        for mode in ("text", "voice"):
            started = time.perf_counter()
            outcome = file_one(bench, mode, f"filing-{mode}-{rep}-{time.time_ns()}")
            outcome["wall_seconds"] = time.perf_counter() - started
            results[mode].append(outcome)
            print(f"    {mode}: {outcome['turns']} turns, filed={outcome['filed']}, "
                  f"system time {outcome['system_seconds']:.1f} s", flush=True)
            # The voice log is always shown: it says which question each turn answered.
            if not outcome["filed"] or mode == "voice":
                for turn in outcome["log"]:
                    heard = f"heard {turn['heard']!r}"
                    if turn.get("stt_confidence") is not None:
                        heard += f", confidence {turn['stt_confidence']}"
                    print(f"      user: {turn['said']!r} ({heard}) -> bot: "
                          f"{' | '.join(turn['replies'])[:160]!r}")
    bench.results["report_filing"] = results
    for mode in ("text", "voice"):
        filed = [run for run in results[mode] if run["filed"]]
        turns = median(run["turns"] for run in filed)
        bench.row("5 whole report", f"user turns to file a complaint by {mode}",
                  fmt(turns, 0) if filed else f"not filed within {MAX_TURNS} turns", "<= 8",
                  (turns is not None and turns <= 8) if filed else False)
    voice = [run for run in results["voice"] if run["filed"]]
    if voice:
        bench.row("5 whole report", "voice-only filing: assistant time (POST -> last reply, summed)",
                  fmt(median(run["system_seconds"] for run in voice), 1, " s"))
