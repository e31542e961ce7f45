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


async def test_fifty_concurrent_claims_one_winner_twenty_times(pg_database_url, pg_db):
    # A pool big enough that every claimer holds its own connection at the same moment.
    database = Database(pg_database_url, pool_size=ENGINEERS)
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
    """No BEGIN, no COMMIT, no second statement: the UPDATE, its event and its jobs are one statement."""
    database = Database(pg_database_url, pool_size=1)  # one connection, so it is warm when measured
    # Not the claim's: the coalesced NOTIFY that wakes other processes' workers, sent later on its own.
    database.on_jobs_committed.clear()
    handoffs = Handoffs(database)
    first, second = await escalated(handoffs, summary="warm-up"), await escalated(handoffs, summary="measured")
    dana = seniors(1)[0]
    statements: list[str] = []  # what SQLAlchemy sends
    simple: list[str] = []  # what asyncpg sends outside prepared statements: BEGIN, COMMIT, ROLLBACK
    event.listen(database.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with database.transaction() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            raw.add_query_logger(lambda record: simple.append(record.query))
        assert isinstance(await handoffs.claim(workspace=ACME, person=dana, handoff_id=first.id), Won)
        statements.clear(), simple.clear()
        outcome = await handoffs.claim(workspace=ACME, person=dana, handoff_id=second.id)
        assert isinstance(outcome, Won) and outcome.handoff.claimed_by.external_id == dana.external_id
        assert len(statements) == 1 and statements[0].lstrip().startswith("WITH claimed AS"), statements
        assert simple == []
        assert [e["kind"] for e in await handoffs.events(second.id)].count("claimed") == 1
        async with database.transaction() as conn:
            kinds = [j["kind"] for j in await outbox.list_jobs(conn, handoff_id=second.id)]
        assert kinds.count(jobs.THREAD_REPLY) == 1 and jobs.CARD_SYNC in kinds
    finally:
        await database.dispose()
