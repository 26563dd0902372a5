from __future__ import annotations

import ast
import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

from accessibility.speech_recogniser import RecogniserOptions
from accessibility.speech_to_text import SpeechToText
from accessibility.speech_worker_client import WORKER_MODULE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "accessibility"


def imports_of(path: Path) -> set[str]:
    """Every accessibility module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    return {name.split(".")[1] for name in found
            if name.startswith("accessibility.") and name.split(".")[1] in modules}


def cycle_through(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path, seen = [start], set()

    def visit(module: str) -> list[str] | None:
        for imported in sorted(graph.get(module, ())):
            if imported == start:
                return path + [start]
            if imported not in seen:
                seen.add(imported)
                path.append(imported)
                found = visit(imported)
                if found:
                    return found
                path.pop()
        return None

    return visit(start)


def test_no_speech_module_imports_a_module_that_imports_it_back():
    graph = {path.stem: imports_of(path) - {path.stem} for path in PACKAGE.glob("*.py")}
    for module in sorted(name for name in graph if name.startswith("speech")):
        assert cycle_through(module, graph) is None, f"import cycle: {cycle_through(module, graph)}"


def test_the_client_half_loads_neither_the_model_half_nor_a_speech_engine():
    probe = ("import sys, accessibility.speech_worker_client; "
             "print(sorted(m for m in ('accessibility.speech_recogniser', 'accessibility.speech_worker_process', "
             "'faster_whisper', 'ctranslate2') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_worker_process_module_the_client_starts_exists_and_holds_the_model_half():
    assert importlib.util.find_spec(WORKER_MODULE) is not None
    assert "speech_recogniser" in imports_of(PACKAGE / f"{WORKER_MODULE.split('.')[-1]}.py")


def test_every_recogniser_option_the_client_has_reaches_the_worker(tmp_path):
    client = SpeechToText("bundled-base", data_dir=tmp_path, beam_size=2, answer_prune_nats=None,
                          answer_window_frames=150, digit_vocabulary=False, token_bonus=0.5)
    sent = client.options()
    names = {field.name for field in dataclasses.fields(RecogniserOptions)}
    assert names <= set(sent)
    received = RecogniserOptions.from_dict(sent)
    assert (received.beam_size, received.answer_prune_nats, received.answer_window_frames,
            received.digit_vocabulary, received.token_bonus) == (2, None, 150, False, 0.5)
