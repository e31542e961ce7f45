"""The `handoff` command answers configuration mistakes with one line naming the setting."""

import os
import subprocess
import sys

import pytest

from db import migrate


def clean_env(**overrides) -> dict[str, str]:
    """This process's environment without any real service credentials, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_", "MICROSOFT_", "HANDOFF_"))}
    return {**env, **overrides}


def run_handoff(*args, env=None):
    full_env = clean_env(**(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("garbage", "HANDOFF_DATABASE_URL is not a database URL"),
        ("mysql://root@127.0.0.1/x", "HANDOFF_DATABASE_URL uses driver 'mysql'"),
        ("postgresql+asyncpg://postgres@127.0.0.1:1/none", "HANDOFF_DATABASE_URL: database unreachable"),
    ],
)
def test_bad_database_url_is_one_clear_line(url, expected):
    result = run_handoff("db", "upgrade", env={"HANDOFF_DATABASE_URL": url})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_port_names_the_setting():
    result = run_handoff("db", "upgrade", env={"HANDOFF_PORT": "abc"})
    assert result.returncode == 2
    assert "HANDOFF_PORT" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_on_sqlite(tmp_path):
    result = run_handoff("db", "upgrade", env={"HANDOFF_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/h.db"})
    assert result.returncode == 0, result.stderr
    assert f"is at schema {migrate.head_revision()}" in result.stdout


async def test_separate_worker_process_is_woken_by_notify(pg_database_url, pg_db):
    """`handoff worker` in its own process picks up jobs committed elsewhere, woken by NOTIFY
    (polling is set to 60 s, so only the notification can make this quick)."""
    import asyncio
    import time

    from core.handoffs import Handoffs
    from tests.factories import ACME, escalated

    from sqlalchemy import text

    env = clean_env(HANDOFF_DATABASE_URL=pg_database_url, HANDOFF_JOB_POLL_S="60")
    async with pg_db.transaction() as conn:
        spawned_at = (await conn.execute(text("SELECT now()"))).scalar_one()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "worker", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        # Wait until it has started and LISTENs (a connection opened since it was spawned whose last
        # statement was LISTEN), however long its start-up takes on a loaded machine; not a fixed 3 s.
        listening = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND query ILIKE 'LISTEN %' AND backend_start >= :spawned")
        deadline = time.monotonic() + 60
        while True:
            assert proc.returncode is None, (await proc.stdout.read()).decode()
            async with pg_db.transaction() as conn:
                if (await conn.execute(listening, {"spawned": spawned_at})).scalar_one():
                    break
            assert time.monotonic() < deadline, "the worker process never LISTENed"
            await asyncio.sleep(0.1)
        handoffs = Handoffs(pg_db)
        h = await escalated(handoffs)
        started = time.monotonic()
        while time.monotonic() - started < 40:
            state = await handoffs.get(workspace=ACME, handoff_id=h.id)
            if state.assessment_state != "pending":
                break
            await asyncio.sleep(0.1)
        assert state.assessment_state != "pending", "the worker process never ran the assess job"
        assert time.monotonic() - started < 30  # half its 60 s poll: the notification woke it
    finally:
        proc.terminate()
        await proc.wait()
