"""The README's promises that CI keeps: two newcomer commands, and every documented command run by .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def documented_commands() -> set[str]:
    """`handoff <words>` at the start of each row of the README's Commands table (subcommand words only)."""
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    found = set()
    for cell in re.findall(r"^\| `handoff ([^`]+)`", table, re.M):
        words = [w for w in cell.split() if re.fullmatch(r"[a-z][a-z-]*", w)]
        found.add(" ".join(words))
    return found


def test_the_readme_has_exactly_two_newcomer_commands_and_ci_runs_them_verbatim():
    try_it = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", try_it, re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert "pip install -q -e . " in blocks[0] and blocks[0].strip().endswith("handoff demo")
    assert "'.[test]'" in blocks[1] and "pytest" in blocks[1]
    assert "readme_block 1" in CI and "readme_block 2" in CI  # CI reads them from the README, not a copy


def test_ci_runs_every_command_the_readme_documents():
    commands = documented_commands()
    assert {"serve", "worker", "db upgrade", "demo", "manifest slack", "manifest teams"} <= commands
    missing = [c for c in sorted(commands) if not re.search(rf'(^|\s)(run |"\$HANDOFF" |handoff ){re.escape(c)}\b', CI, re.M)]
    assert missing == [], f"documented in README.md but not run by .ci/run: {missing}"
