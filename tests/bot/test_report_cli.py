"""`handoff report` over a scripted history, and the settings it and the reminders read."""

from __future__ import annotations

import csv
import io

import pytest

from tests.bot.test_cli import run_handoff
from tests.core.test_stats import scripted

UNTIL = "2026-11-23T12:00:00"


@pytest.fixture
async def history(sqlite_url):
    from db.engine import Database

    database = Database(sqlite_url)
    await scripted(database)
    await database.dispose()
    return sqlite_url


def test_report_csv_per_week_and_senior(history):
    result = run_handoff("report", "--since", "28d", "--until", UNTIL, "--csv",
                         env={"HANDOFF_DATABASE_URL": history, "HANDOFF_BASELINE_MINUTES": "45"})
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    weeks = {r["label"]: (r["escalations"], r["picked up"], r["median first action (min)"])
             for r in rows if r["section"] == "week"}
    assert weeks == {"2026-W45": ("1", "1", "16.0"), "2026-W46": ("1", "1", "12.0"), "2026-W47": ("6", "5", "10.0")}
    dana = next(r for r in rows if r["section"] == "senior" and r["label"] == "Dana")
    assert (dana["picked up"], dana["median pick-up (min)"]) == ("4", "6.0")
    total = next(r for r in rows if r["section"] == "total")
    assert (total["saved per escalation (min)"], total["saved (h)"]) == ("33.0", "3.9")


def handoff_in_process(monkeypatch, capsys, *args, env):
    """The same `handoff` entry point, in this process (quicker than a subprocess per case)."""
    from bot.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_table_prints_the_formula_beside_the_figures(history, monkeypatch, capsys):
    code, out, err = handoff_in_process(monkeypatch, capsys, "report", "--since", "28d", "--until", UNTIL,
                                        env={"HANDOFF_DATABASE_URL": history, "HANDOFF_BASELINE_MINUTES": "45"})
    assert code == 0, err
    assert "Per week" in out and "Per senior" in out
    assert "saved per escalation = baseline 45 min - median time to first action 12.0 min = 33.0 min" in out


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"HANDOFF_BASELINE_MINUTES": "forty"}, ("report",), "HANDOFF_BASELINE_MINUTES"),
        ({"HANDOFF_BASELINE_MINUTES": "-5"}, ("report",), "HANDOFF_BASELINE_MINUTES"),
        ({"HANDOFF_REMINDERS": "10m,soon"}, ("serve",), "HANDOFF_REMINDERS"),
        ({"HANDOFF_REMINDERS": "30m,10m"}, ("serve",), "HANDOFF_REMINDERS"),
        ({"HANDOFF_FIRST_ACTION_NUDGE": "0m"}, ("serve",), "HANDOFF_FIRST_ACTION_NUDGE"),
        ({"HANDOFF_AI_DEADLINE_S": "0"}, ("serve",), "HANDOFF_AI_DEADLINE_S"),
        ({}, ("report", "--since", "a while"), "--since"),
        ({}, ("report", "--workspace", "T-NOPE"), "no workspace 'T-NOPE'"),
    ],
)
def test_bad_settings_stop_with_one_line_naming_them(history, monkeypatch, capsys, env, args, expected):
    code, _, err = handoff_in_process(monkeypatch, capsys, *args, env={"HANDOFF_DATABASE_URL": history, **env})
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
