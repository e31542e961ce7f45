"""The handoff service on real databases (SQLite and PostgreSQL)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core import jobs as job_kinds
from core.handoffs import Handoffs
from core.models import AlreadyYours, Done, Escalated, Lost, NoChannel, PersonKey, Refused, Won
from db import outbox
from db.engine import Database
from db.errors import DatabaseUnavailable
from tests.factories import ACME, CAROL, DANA, GLOBEX, JUNIOR, escalated, snapshot

# Posting and assessing it, the assessment's deadline and the first reminder.
ESCALATION_JOBS = [job_kinds.CARD_SYNC, job_kinds.ASSESS, job_kinds.ASSESS_DEADLINE, job_kinds.REMIND]


async def job_kinds_of(db, handoff_id):
    async with db.transaction() as conn:
        return sorted(j["kind"] for j in await outbox.list_jobs(conn, handoff_id=handoff_id))


async def test_escalate_records_snapshot_card_and_jobs(handoffs, db):
    await handoffs.register_workspace(ACME, channel="C-ESC")
    outcome = await handoffs.escalate(
        workspace=ACME,
        author=JUNIOR,
        snapshot=snapshot(tried="Restarted transport service", urgency="high", ticket="INC-42"),
        target=DANA,
        idempotency_key="view-1",
    )
    assert isinstance(outcome, Escalated) and outcome.created
    h = outcome.handoff
    assert (h.status, h.intent, h.version, h.assessment_state) == ("open", "escalate", 1, "pending")
    assert h.author.display_name == "Jamie" and h.target.display_name == "Dana"
    assert h.snapshot.tried == "Restarted transport service" and h.snapshot.urgency == "high"
    assert h.card.channel == "C-ESC" and h.card.state == "pending" and h.card.message_ref is None
    assert await job_kinds_of(db, h.id) == sorted([*ESCALATION_JOBS, job_kinds.NOTIFY_TARGET])
    assert [e["kind"] for e in await handoffs.events(h.id)] == ["created"]


async def test_escalate_without_channel_creates_nothing(handoffs, db):
    outcome = await handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot())
    assert isinstance(outcome, NoChannel)
    assert await handoffs.queue(workspace=ACME, viewer=DANA) == []


async def test_same_idempotency_key_returns_the_same_handoff(handoffs, db):
    first = await escalated(handoffs, key="view-7")
    again = await handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot(summary="changed"), idempotency_key="view-7")
    assert not again.created and again.handoff.id == first.id
    assert again.handoff.snapshot.summary == first.snapshot.summary
    assert await job_kinds_of(db, first.id) == sorted(ESCALATION_JOBS)


async def test_ten_concurrent_duplicates_make_one_handoff(handoffs, db):
    await handoffs.register_workspace(ACME, channel="C-ESC")
    outcomes = await asyncio.gather(
        *[
            handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot(), idempotency_key="slack-retry-1")
            for _ in range(10)
        ]
    )
    assert len({o.handoff.id for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1
    assert len(await handoffs.queue(workspace=ACME, viewer=DANA)) == 1
    assert await job_kinds_of(db, outcomes[0].handoff.id) == sorted(ESCALATION_JOBS)


async def test_claim_outcomes(handoffs):
    h = await escalated(handoffs)
    won = await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    assert isinstance(won, Won)
    assert won.handoff.status == "claimed" and won.handoff.claimed_by.display_name == "Dana"
    assert won.handoff.version == 2

    again = await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    assert isinstance(again, AlreadyYours) and again.handoff.version == 2

    lost = await handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
    assert isinstance(lost, Lost)
    assert lost.winner.display_name == "Dana" and lost.winner.external_id == "U-DANA"
    assert lost.claimed_at == won.handoff.claimed_at


async def test_loser_gets_one_conflict_reply_however_often_they_click(handoffs, db):
    h = await escalated(handoffs)
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    for _ in range(3):
        await handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
    async with db.transaction() as conn:
        replies = [j for j in await outbox.list_jobs(conn, handoff_id=h.id) if j["kind"] == job_kinds.THREAD_REPLY]
    assert sorted(r["payload"]["reply"] for r in replies) == ["claimed", "conflict"]


async def test_self_claim_viewer_and_other_workspace_are_refused(handoffs):
    h = await escalated(handoffs)
    own = await handoffs.claim(workspace=ACME, person=JUNIOR, handoff_id=h.id)
    assert own == Refused("own_escalation", own.handoff)

    await handoffs.bootstrap_admin(workspace=ACME, person=PersonKey("U-ADMIN", "Ada"))
    await handoffs.set_role(workspace=ACME, admin=PersonKey("U-ADMIN"), person=PersonKey("U-VIEW", "Vic"), role="viewer")
    viewer = await handoffs.claim(workspace=ACME, person=PersonKey("U-VIEW"), handoff_id=h.id)
    assert isinstance(viewer, Refused) and viewer.reason == "viewer"

    # Same person id string in another workspace: not even visible there.
    assert await handoffs.claim(workspace=GLOBEX, person=DANA, handoff_id=h.id) == Refused("not_found")
    assert await handoffs.claim(workspace=ACME, person=DANA, handoff_id=uuid.uuid4()) == Refused("not_found")
    state = await handoffs.get(workspace=ACME, handoff_id=h.id)
    assert state.status == "open" and state.claimed_by is None and state.version == 1


async def test_only_an_admin_sets_roles(handoffs):
    await handoffs.register_workspace(ACME)
    refused = await handoffs.set_role(workspace=ACME, admin=DANA, person=CAROL, role="viewer")
    assert isinstance(refused, Refused)
    with pytest.raises(ValueError):
        await handoffs.set_role(workspace=ACME, admin=DANA, person=CAROL, role="owner")


async def test_release_resolve_cancel_are_guarded(handoffs, db):
    h = await escalated(handoffs)
    assert await handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id) == Refused("not_owner", (await handoffs.get(workspace=ACME, handoff_id=h.id)))
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    refused = await handoffs.resolve(workspace=ACME, person=CAROL, handoff_id=h.id)
    assert isinstance(refused, Refused) and refused.reason == "not_owner"

    released = await handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id)
    assert isinstance(released, Done) and released.handoff.status == "open" and released.handoff.claimed_by is None
    assert isinstance(await handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id), Won)
    resolved = await handoffs.resolve(workspace=ACME, person=CAROL, handoff_id=h.id)
    assert isinstance(resolved, Done) and resolved.handoff.status == "resolved" and resolved.handoff.closed_at
    assert resolved.handoff.version == 5
    # Resolved: nobody loses a race for it (no conflict reply), the owner included.
    for person in (DANA, CAROL):
        closed = await handoffs.claim(workspace=ACME, person=person, handoff_id=h.id)
        assert isinstance(closed, Refused) and closed.reason == "not_open"
    kinds = [e["kind"] for e in await handoffs.events(h.id)]
    assert kinds[:5] == ["created", "claimed", "released", "claimed", "resolved"]

    other = await escalated(handoffs, summary="Printer queue stuck")
    not_author = await handoffs.cancel(workspace=ACME, person=DANA, handoff_id=other.id)
    assert isinstance(not_author, Refused) and not_author.reason == "not_author"
    cancelled = await handoffs.cancel(workspace=ACME, person=JUNIOR, handoff_id=other.id)
    assert isinstance(cancelled, Done) and cancelled.handoff.status == "cancelled"
    refused = await handoffs.claim(workspace=ACME, person=DANA, handoff_id=other.id)
    assert isinstance(refused, Refused) and refused.reason == "not_open"


async def test_park_is_private_until_escalated(handoffs, db):
    await handoffs.register_workspace(ACME, channel="C-ESC")
    parked = (await handoffs.park(workspace=ACME, author=JUNIOR, snapshot=snapshot(notes="for tomorrow"))).handoff
    assert parked.intent == "park" and parked.card is None
    assert await job_kinds_of(db, parked.id) == []
    assert await handoffs.queue(workspace=ACME, viewer=DANA) == []
    assert [p.id for p in await handoffs.parked(workspace=ACME, person=JUNIOR)] == [parked.id]
    assert await handoffs.parked(workspace=ACME, person=DANA) == []
    assert isinstance(await handoffs.claim(workspace=ACME, person=DANA, handoff_id=parked.id), Refused)

    refused = await handoffs.escalate_parked(workspace=ACME, person=DANA, handoff_id=parked.id)
    assert isinstance(refused, Refused) and refused.reason == "not_author"
    done = await handoffs.escalate_parked(workspace=ACME, person=JUNIOR, handoff_id=parked.id)
    assert isinstance(done, Done)
    assert done.handoff.intent == "escalate" and done.handoff.snapshot.notes == "for tomorrow"
    assert done.handoff.card is not None and done.handoff.escalated_at is not None
    assert [q.id for q in await handoffs.queue(workspace=ACME, viewer=DANA)] == [parked.id]
    assert await job_kinds_of(db, parked.id) == sorted(ESCALATION_JOBS)


async def test_queue_is_oldest_first_without_own(db):
    clock = FakeClock()
    handoffs = Handoffs(db, clock=clock)
    first = await escalated(handoffs, summary="first")
    clock.advance(60)
    mine = await escalated(handoffs, author=DANA, summary="dana's own")
    clock.advance(60)
    third = await escalated(handoffs, summary="third")
    await escalated(handoffs, workspace=GLOBEX, summary="other tenant")
    assert [h.id for h in await handoffs.queue(workspace=ACME, viewer=DANA)] == [first.id, third.id]
    assert [h.id for h in await handoffs.queue(workspace=ACME, viewer=CAROL)] == [first.id, mine.id, third.id]
    await handoffs.claim(workspace=ACME, person=CAROL, handoff_id=first.id)
    assert [h.id for h in await handoffs.queue(workspace=ACME, viewer=DANA)] == [third.id]


async def test_stats_time_to_claim_and_first_action(db):
    clock = FakeClock()
    handoffs = Handoffs(db, clock=clock)
    start = clock.now
    claims = [60, 120, 180, 240, 600]
    for i, seconds in enumerate(claims):
        clock.now = start + timedelta(seconds=i)
        h = await escalated(handoffs, summary=f"problem {i}")
        clock.now = start + timedelta(seconds=i + seconds)
        await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        clock.advance(30)
        assert await handoffs.record_first_action(workspace=ACME, person=DANA, handoff_id=h.id)
        clock.advance(30)
        assert not await handoffs.record_first_action(workspace=ACME, person=DANA, handoff_id=h.id)
    clock.now = start
    await escalated(handoffs, summary="never claimed")
    clock.now = start + timedelta(hours=1)
    stats = await handoffs.stats(workspace=ACME, days=1)
    assert (stats.count, stats.claimed) == (6, 5)
    assert stats.time_to_claim_median_s == 180
    assert stats.time_to_first_action_median_s == 210
    assert 240 < stats.time_to_claim_p90_s <= 600
    empty = await handoffs.stats(workspace=GLOBEX, days=1)
    assert (empty.count, empty.time_to_claim_median_s) == (0, None)


async def test_first_action_only_counts_for_the_owner(handoffs):
    h = await escalated(handoffs)
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    assert not await handoffs.record_first_action(workspace=ACME, person=CAROL, handoff_id=h.id)
    assert (await handoffs.get(workspace=ACME, handoff_id=h.id)).first_action_at is None


async def test_database_down_is_a_clear_error_and_writes_nothing(tmp_path):
    dead = Handoffs(Database("postgresql+asyncpg://postgres@127.0.0.1:1/nothing"))
    with pytest.raises(DatabaseUnavailable, match="database unreachable"):
        await dead.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot())
    await dead.db.dispose()


async def test_failure_mid_transaction_leaves_nothing_half_written(handoffs, db, monkeypatch):
    await handoffs.register_workspace(ACME, channel="C-ESC")

    async def broken_enqueue(*args, **kwargs):
        raise DatabaseUnavailable("connection lost mid-transaction")

    monkeypatch.setattr(outbox, "enqueue", broken_enqueue)
    with pytest.raises(DatabaseUnavailable):
        await handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot(), idempotency_key="k")
    monkeypatch.undo()
    assert await handoffs.queue(workspace=ACME, viewer=DANA) == []
    retry = await handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot(), idempotency_key="k")
    assert retry.created


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_only_admins_move_the_channel_once_one_is_set(handoffs):
    first = await handoffs.set_channel(workspace=ACME, person=DANA, channel="C-1")
    assert first.changed and first.first_admin
    refused = await handoffs.set_channel(workspace=ACME, person=CAROL, channel="C-2")
    assert not refused.changed and [a.display_name for a in refused.admins] == ["Dana"]
    moved = await handoffs.set_channel(workspace=ACME, person=DANA, channel="C-3")
    assert moved.changed and not moved.first_admin
    assert (await handoffs.register_workspace(ACME)).escalation_channel == "C-3"


async def test_one_channel_policy_a_channel_chosen_in_chat_wins_over_the_configured_one(handoffs):
    """Both platforms: the configured (environment) channel applies, and follows the configuration,
    until someone chooses a channel in chat; from then on a restart with the environment changes nothing."""
    assert (await handoffs.register_workspace(ACME, channel="C-ENV")).escalation_channel == "C-ENV"
    assert (await handoffs.register_workspace(ACME, channel="C-ENV-2")).escalation_channel == "C-ENV-2"
    await handoffs.set_channel(workspace=ACME, person=DANA, channel="C-CHAT")
    restarted = await handoffs.register_workspace(ACME, channel="C-ENV-2")
    assert restarted.escalation_channel == "C-CHAT" and restarted.channel_set_in_chat


async def test_naming_yourself_as_the_senior_is_refused_and_records_nothing(handoffs):
    await handoffs.register_workspace(ACME, channel="C-ESC")
    outcome = await handoffs.escalate(workspace=ACME, author=DANA, snapshot=snapshot(), target=DANA)
    assert outcome == Refused("self_target")
    assert await handoffs.queue(workspace=ACME, viewer=CAROL) == []


async def test_a_claim_tells_observers_in_its_own_transaction_only_for_a_ticket(db):
    """The PSA's job commits with the claim (one statement on PostgreSQL, one transaction on SQLite),
    exactly as core.jobs.observer_jobs defines it: keyed by the claim's version, with the time to pick-up."""
    clock = FakeClock()
    handoffs = Handoffs(db, observers=("psa.note", "metrics.note"), clock=clock)
    ticketed, plain = await escalated(handoffs, ticket="INC-7"), await escalated(handoffs)
    clock.advance(seconds=90.5)
    won = await handoffs.claim(workspace=ACME, person=DANA, handoff_id=ticketed.id)
    assert isinstance(won, Won)
    assert isinstance(await handoffs.claim(workspace=ACME, person=DANA, handoff_id=plain.id), Won)
    expected = job_kinds.observer_jobs(
        ("psa.note", "metrics.note"), ticketed.id, event="claimed", version=won.handoff.version, now=clock(),
        actor_id=won.handoff.claimed_by.id, to_pickup_s=90.5,
    )
    async with db.transaction() as conn:
        told = [j for j in await outbox.list_jobs(conn, handoff_id=ticketed.id)
                if j["kind"] in ("psa.note", "metrics.note") and j["payload"]["event"] == "claimed"]
        untold = [j for j in await outbox.list_jobs(conn, handoff_id=plain.id) if j["kind"] in ("psa.note", "metrics.note")]
    fields = ("kind", "payload", "dedupe_key", "max_attempts", "state", "run_after")
    assert sorted(({f: j[f] for f in fields} for j in told), key=lambda j: j["kind"]) == sorted(
        ({f: j[f] for f in fields} for j in expected), key=lambda j: j["kind"])
    assert untold == []
