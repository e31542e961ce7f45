"""Exactly one winner under truly concurrent claims on PostgreSQL (separate connections)."""

import asyncio

from sqlalchemy import event

from core import jobs

from core.handoffs import Handoffs
from core.models import Lost, Refused, Won
from db import outbox
from db.engine import Database
from tests.factories import ACME, GLOBEX, JUNIOR, escalated, seniors

ENGINEERS = 50
ROUNDS = 20
# Claims in flight at the database at once. Twenty transactions racing for one row's lock exercise the
# conditional UPDATE as fifty would, and the suite's pools together then stay well inside a CI server's
# default max_connections of 100 (this pool, pg_db's 10, the odd replica or budget test's few).
CONNECTIONS = 20


async def test_fifty_concurrent_claims_one_winner_twenty_times(pg_database_url, pg_db):
    # Fifty claimers start at once; CONNECTIONS of them hold their own connection at the same moment and
    # the rest queue for the pool (max_overflow is 0), so every round has many claims racing in the database.
    database = Database(pg_database_url, pool_size=CONNECTIONS)
    handoffs = Handoffs(database)
    people = seniors(ENGINEERS)
    try:
        for round_no in range(ROUNDS):
            h = await escalated(handoffs, summary=f"round {round_no}")
            start = asyncio.Event()

            async def click(person):
                await start.wait()
                return await handoffs.claim(workspace=ACME, person=person, handoff_id=h.id)

            tasks = [asyncio.create_task(click(p)) for p in people]
            await asyncio.sleep(0)
            start.set()
            outcomes = await asyncio.gather(*tasks)

            winners = [o for o in outcomes if isinstance(o, Won)]
            losers = [o for o in outcomes if isinstance(o, Lost)]
            assert len(winners) == 1, f"round {round_no}: {len(winners)} winners"
            assert len(losers) == ENGINEERS - 1
            winner = winners[0].handoff.claimed_by
            assert {lost.winner.id for lost in losers} == {winner.id}
            assert {lost.claimed_at for lost in losers} == {winners[0].handoff.claimed_at}
            final = await handoffs.get(workspace=ACME, handoff_id=h.id)
            assert final.claimed_by == winner and final.version == 2
            kinds = [e["kind"] for e in await handoffs.events(h.id)]
            assert kinds.count("claimed") == 1 and kinds.count("conflict") == ENGINEERS - 1
    finally:
        await database.dispose()


async def test_concurrent_refusals_never_claim(pg_db):
    handoffs = Handoffs(pg_db)
    h = await escalated(handoffs)
    own = [handoffs.claim(workspace=ACME, person=JUNIOR, handoff_id=h.id) for _ in range(10)]
    foreign = [handoffs.claim(workspace=GLOBEX, person=p, handoff_id=h.id) for p in seniors(10)]
    outcomes = await asyncio.gather(*own, *foreign)
    assert all(isinstance(o, Refused) for o in outcomes)
    assert {o.reason for o in outcomes} == {"own_escalation", "not_found"}
    state = await handoffs.get(workspace=ACME, handoff_id=h.id)
    assert state.status == "open" and state.claimed_by is None


async def test_a_new_person_double_clicking_wins_once(pg_db):
    """Both clicks arrive before the person exists: one Won, one AlreadyYours, nothing fails."""
    handoffs = Handoffs(pg_db)
    h = await escalated(handoffs)
    newcomer = seniors(1)[0]
    outcomes = await asyncio.gather(*[handoffs.claim(workspace=ACME, person=newcomer, handoff_id=h.id) for _ in range(5)])
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyYours"] * 4 + ["Won"]


async def test_two_people_setting_the_first_channel_at_once_make_one_admin(pg_db):
    handoffs = Handoffs(pg_db)
    people = seniors(6)
    changes = await asyncio.gather(
        *[handoffs.set_channel(workspace=GLOBEX, person=p, channel=f"C-{i}") for i, p in enumerate(people)]
    )
    assert sum(c.first_admin for c in changes) == 1
    assert len(await handoffs.admins(workspace=GLOBEX)) == 1
    refused = [c for c in changes if not c.changed]
    assert len(refused) == 5 and all(len(c.admins) == 1 for c in refused)


async def test_a_winning_claim_is_one_round_trip_on_postgresql(pg_database_url, pg_db):
    """No BEGIN, no COMMIT, no second statement: the UPDATE, its event, its jobs and the PSA's job (the
    handoff names a ticket) are one statement, sent on the driver connection."""
    database = Database(pg_database_url, pool_size=1)  # one connection, so it is warm when measured
    # Not the claim's: the coalesced NOTIFY that wakes other processes' workers, sent later on its own.
    database.on_jobs_committed.clear()
    handoffs = Handoffs(database, observers=("psa.note",))
    first = await escalated(handoffs, summary="warm-up", ticket="INC-1")
    second = await escalated(handoffs, summary="measured", ticket="INC-2")
    dana = seniors(1)[0]
    statements: list[str] = []  # what SQLAlchemy sends
    sent: list[str] = []  # what asyncpg sends: every query, prepared or not (BEGIN, COMMIT too)
    event.listen(database.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with database.transaction() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            raw.add_query_logger(lambda record: sent.append(record.query))
        assert isinstance(await handoffs.claim(workspace=ACME, person=dana, handoff_id=first.id), Won)
        statements.clear(), sent.clear()
        outcome = await handoffs.claim(workspace=ACME, person=dana, handoff_id=second.id)
        assert isinstance(outcome, Won) and outcome.handoff.claimed_by.external_id == dana.external_id
        assert statements == []
        assert len(sent) == 1 and sent[0].lstrip().startswith("WITH claimed AS"), sent
        assert [e["kind"] for e in await handoffs.events(second.id)].count("claimed") == 1
        async with database.transaction() as conn:
            kinds = [j["kind"] for j in await outbox.list_jobs(conn, handoff_id=second.id)]
        assert kinds.count(jobs.THREAD_REPLY) == 1 and jobs.CARD_SYNC in kinds and kinds.count("psa.note") == 2
    finally:
        await database.dispose()
