"""The single-winner claim (DESIGN invariant 2): one conditional UPDATE whose row count decides, and
only if it won, what the claim writes along with it. Nothing here commits.

The rules are written once, as SQLAlchemy expressions: `_CLAIM` (who may claim what) and the rows the
caller passes (the event, the jobs). PostgreSQL runs them as one statement (data-modifying CTEs) on a
pooled driver connection (db/compiled.py): one round trip, in autocommit, so no BEGIN and no COMMIT.
SQLite has no such CTEs: the same UPDATE, then the same rows, as steps in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Select, String, bindparam, case, cast, exists, func, null, select, text, union_all, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from db import outbox, store
from db.compiled import DriverStatement
from db.engine import Database
from db.tables import events, handoffs, people
from db.tables import jobs as jobs_table

_CLAIM = (
    update(handoffs)
    .where(
        handoffs.c.id == bindparam("b_handoff_id"),
        handoffs.c.workspace_id == bindparam("b_workspace_id"),
        handoffs.c.claimed_by.is_(None),
        handoffs.c.created_by != bindparam("b_person_id"),
        handoffs.c.status == "open",
        handoffs.c.intent == "escalate",
        ~exists().where(people.c.id == bindparam("b_person_id"), people.c.role == "viewer"),
    )
    .values(
        status="claimed",
        claimed_by=bindparam("b_person_id"),
        claimed_at=bindparam("b_now"),
        version=handoffs.c.version + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(*handoffs.c)
)


async def claim_in_one_statement(
    database: Database,
    *,
    handoff_id: uuid.UUID,
    workspace_id: int,
    person_id: int,
    now: datetime,
    event: dict[str, Any],
    jobs: list[dict[str, Any]],
    told: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """PostgreSQL: claim, and only if it won write the `event` row (store.event_row), the `jobs` rows
    (outbox.job) and the `told` rows, all in one statement, its own transaction. Returns the claimed
    handoff (as store.load_handoff), or None if it lost. Viewers, the author, other workspaces and
    anything not open fail the WHERE clause.

    `told`: outbox rows telling integrations of the claim (core.jobs.observer_jobs, built with an empty
    version), written only when the claimed handoff names a ticket. Their payload gets the claim's
    `version` and `to_pickup_s` (seconds from escalation to the claim) and their dedupe_key ends with
    the version: what core.observers.tell writes after claim_in_steps.
    """
    params: dict[str, Any] = {
        "b_handoff_id": handoff_id, "b_workspace_id": workspace_id, "b_person_id": person_id, "b_now": now,
    }
    params.update({f"e_{name}": value for name, value in event.items()})
    for prefix, rows in (("j", jobs), ("t", told)):
        for i, row in enumerate(rows):
            params.update({f"{prefix}{i}_{name}": value for name, value in row.items()})
    shape = (tuple(event), tuple(tuple(row) for row in jobs), tuple(tuple(row) for row in told))
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = DriverStatement(_claim_statement(*shape), database.engine.dialect)
    return await database.fetch_one(statement, params, enqueues=bool(jobs or told))


_STATEMENTS: dict[tuple, DriverStatement] = {}  # compiled once per shape of event, jobs and told rows


def _claim_statement(
    event: tuple[str, ...], jobs: tuple[tuple[str, ...], ...], told: tuple[tuple[str, ...], ...]
) -> Select:
    """PostgreSQL: WITH claimed AS (the conditional UPDATE), INSERT the event and the jobs FROM
    claimed (so nothing is written when it lost), SELECT the handoff view FROM claimed."""
    claimed = _CLAIM.cte("claimed")
    event_rows = _bound_row(events, event, "e_", claimed)
    ctes = [pg_insert(events).from_select(list(event), event_rows).cte("claim_event")]
    rows = [_bound_row(jobs_table, row, f"j{i}_", claimed) for i, row in enumerate(jobs)]
    rows += [_told_row(row, f"t{i}_", claimed) for i, row in enumerate(told)]
    if rows:
        columns = list((jobs or told)[0])
        ctes.append(
            pg_insert(jobs_table)
            .from_select(columns, union_all(*rows) if len(rows) > 1 else rows[0])
            .on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=text("state = 'pending'"))
            .cte("claim_jobs")
        )
    return store.handoff_view(claimed).add_cte(*ctes)


def _bound(table, name: str, prefix: str):
    return bindparam(prefix + name, type_=table.c[name].type)


def _bound_row(table, names: tuple[str, ...], prefix: str, source) -> Select:
    """SELECT one row of parameters, typed as the table's columns, once per row of `source`."""
    return select(*[_bound(table, name, prefix) for name in names]).select_from(source)


def _told_row(names: tuple[str, ...], prefix: str, claimed) -> Select:
    """A `told` row: bound like a job, completed from the claimed row, only if it names a ticket."""
    since = func.extract("epoch", bindparam("b_now", type_=handoffs.c.claimed_at.type) - claimed.c.escalated_at)
    facts = func.jsonb_build_object(
        "version", claimed.c.version,
        "to_pickup_s", case((claimed.c.escalated_at.is_(None), null()), else_=func.greatest(0, since)),
    )
    completed = {
        "payload": cast(cast(_bound(jobs_table, "payload", prefix), JSONB).op("||")(facts), JSON),
        "dedupe_key": _bound(jobs_table, "dedupe_key", prefix) + cast(claimed.c.version, String),
    }
    columns = [completed.get(name, _bound(jobs_table, name, prefix)) for name in names]
    ticket = func.coalesce(cast(claimed.c.snapshot, JSONB).op("->>")("ticket"), "")
    return select(*columns).select_from(claimed).where(ticket != "")


async def claim_in_steps(
    conn: AsyncConnection,
    *,
    handoff_id: uuid.UUID,
    workspace_id: int,
    person_id: int,
    now: datetime,
    event: dict[str, Any],
    jobs: list[dict[str, Any]],
) -> RowMapping | None:
    """claim_in_one_statement as steps in the caller's transaction (SQLite; bench/claims.py's "before"
    on PostgreSQL). The caller tells observers, from the row this returns."""
    params = {"b_handoff_id": handoff_id, "b_workspace_id": workspace_id, "b_person_id": person_id, "b_now": now}
    if (await conn.execute(_CLAIM, params)).first() is None:
        return None
    await store.insert_event_row(conn, event)
    await outbox.enqueue_all(conn, jobs)
    return await store.load_handoff(conn, handoff_id)
