"""Card sync converges to the current row and never shows older state (DESIGN invariant 1)."""

import asyncio

from tests.factories import ACME, CAROL, DANA, escalated
from tests.fakes.port import RecordingPort, services_with

async def posted(db, *, platform: bool = True):
    """An escalation whose card jobs have run: (port, services, worker, handoff); no platform: no port."""
    port = RecordingPort() if platform else None
    services = services_with(db, port)
    worker = services.worker()
    handoff = await escalated(services.handoffs)
    await worker.drain()
    return port, services, worker, handoff


async def test_card_is_posted_then_edited_to_each_new_version(db):
    port, services, worker, h = await posted(db)
    assert port.posts == 1
    state = await services.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert state.card.state == "posted" and state.card.rendered_version == state.version
    assert port.messages[state.card.message_ref]["assessment"] == "skipped"

    await services.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await services.handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
    await worker.drain()
    shown = port.messages[state.card.message_ref]
    final = await services.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert shown == {"version": final.version, "status": "claimed", "assessment": "skipped"}
    assert final.card.rendered_version == final.version
    versions = [v for _, v in port.edits]
    assert versions == sorted(versions), "a card edit showed older state than one already shown"
    assert [r.kind for _, r in port.replies] == ["claimed", "conflict"]
    conflict = port.replies[1][1]
    assert conflict.person.display_name == "Carol" and conflict.winner.display_name == "Dana"


async def test_version_moving_during_an_edit_is_rendered_again(db):
    port, services, worker, h = await posted(db)
    port.hang_edit_once.set()
    await services.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    running = asyncio.create_task(worker.drain())
    await asyncio.wait_for(port.edit_started.wait(), 10)
    # While the claim's edit is in flight, the owner resolves.
    await services.handoffs.resolve(workspace=ACME, person=DANA, handoff_id=h.id)
    port.release_edit.set()
    await asyncio.wait_for(running, 20)
    final = await services.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert port.messages[final.card.message_ref]["status"] == "resolved"
    assert final.card.rendered_version == final.version
    versions = [v for _, v in port.edits]
    assert versions == sorted(versions)


async def test_rate_limited_edit_is_retried_and_converges(db):
    port, services, worker, h = await posted(db)
    port.rate_limited_edits = 2
    await services.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await worker.drain()
    final = await services.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert port.rate_limited_edits == 0
    assert port.messages[final.card.message_ref]["status"] == "claimed"
    assert final.card.rendered_version == final.version


async def test_card_that_cannot_be_delivered_is_marked_failed_with_an_event(db):
    _, services, worker, h = await posted(db, platform=False)
    state = await services.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert state.card.state == "failed"
    kinds = [e["kind"] for e in await services.handoffs.events(h.id)]
    assert "delivery_failed" in kinds and "job_failed" in kinds
    # The escalation itself is never lost: it is still open and claimable.
    assert state.status == "open"
