"""Our modules and what each imports, read with ``ast`` (nothing is imported to find out).

Used by the layer test and by the before/after figures of issue 15 (lines per module, cycles).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("channels", "accessibility", "bot", "storage", "console", "shared")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def our_modules() -> Dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # alembic revisions run only under alembic
            found[module_name(path)] = path
    return found


def _resolve(importer: str, is_package: bool, level: int, module: str) -> str:
    if not level:
        return module
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, modules: Dict[str, Path]) -> Iterator[Tuple[str, int]]:
    """(imported module of ours, line) for every import in the file, lazy ones inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _ours(alias.name, node.lineno, modules)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, is_package, node.level, node.module or "")
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in modules:
                    yield candidate, node.lineno
                else:
                    yield from _ours(base, node.lineno, modules)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what sits under ``if TYPE_CHECKING:`` (names for annotations only)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                pending.extend(child.orelse)
                continue
            pending.append(child)


def _ours(dotted: str, line: int, modules: Dict[str, Path]) -> Iterator[Tuple[str, int]]:
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        candidate = ".".join(parts[:length])
        if candidate in modules:
            yield candidate, line
            return


def import_graph() -> Dict[str, Set[str]]:
    modules = our_modules()
    return {name: {target for target, _ in imports_of(name, path, modules) if target != name}
            for name, path in modules.items()}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
