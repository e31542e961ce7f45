"""Who may import whom: read from the source (every import statement, also those inside functions)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "cards", "core", "db", "demo", "manifest", "psa", "standins")
OURS = (*PACKAGES, "tests", "bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The project modules `path` imports (`from a.b import c` counts as a.b.c when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in OURS}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_manifest_imports_no_runtime_code():
    edges = graph()
    wrong = {m: sorted(t for t in targets if not t.startswith("manifest"))
             for m, targets in edges.items() if m.startswith("manifest")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_standins_import_nothing_from_handoff():
    edges = graph()
    wrong = {m: sorted(t for t in targets if not t.startswith("standins"))
             for m, targets in edges.items() if m.startswith("standins")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_core_and_db_never_import_the_psa_integration():
    edges = graph()
    wrong = {m: sorted(t for t in targets if t.startswith("psa"))
             for m, targets in edges.items() if m.split(".")[0] in ("core", "db", "cards")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_command_is_there_without_the_test_extra(tmp_path):
    """A plain install has no Pillow (a test-only dependency): the CLI still offers every command."""
    script = (
        "import sys; sys.modules['PIL'] = None\n"  # `import PIL` now fails, as in a plain install
        "from bot.cli import main\n"
        f"sys.exit(main(['manifest', 'teams', '--app-id', '8f0b6c3e-1d2a-4b5c-9e7f-0a1b2c3d4e5f',"
        f" '--url', 'https://bot.example.com', '--out', {str(tmp_path / 'p.zip')!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.zip").stat().st_size > 0


def test_no_import_cycles_anywhere():
    """The server calls each platform's install(); nothing imports the server back or registers itself."""
    assert cycles(graph()) == []


def test_core_imports_nothing_from_cards_or_the_platforms():
    edges = graph()
    wrong = {m: sorted(t for t in targets if t.split(".")[0] in ("cards", "bot", "demo", "standins"))
             for m, targets in edges.items() if m.startswith("core")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_cards_are_pure():
    edges = graph()
    wrong = {m: sorted(t for t in targets if t.split(".")[0] in ("bot", "db", "demo", "standins"))
             for m, targets in edges.items() if m.startswith("cards")}
    assert {m: t for m, t in wrong.items() if t} == {}
