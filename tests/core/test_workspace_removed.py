"""A workspace removed (app uninstalled, tokens revoked): its waiting deliveries stop with the reason;
another workspace's do not."""

from db import outbox
from tests.factories import ACME, GLOBEX, escalated


async def jobs_of(db, handoff_id):
    async with db.transaction() as conn:
        return [(j["state"], j["last_error"]) for j in await outbox.list_jobs(conn, handoff_id=handoff_id)]


async def test_pending_deliveries_stop_with_the_reason_and_it_is_recorded(handoffs, db):
    acme = await escalated(handoffs, workspace=ACME)
    globex = await escalated(handoffs, workspace=GLOBEX)

    removed = await handoffs.workspace_removed(workspace=ACME, reason="tokens_revoked")

    assert removed.known and removed.stopped_jobs == len(await jobs_of(db, acme.id)) > 0
    assert set(await jobs_of(db, acme.id)) == {("failed", "tokens_revoked")}
    assert {state for state, _ in await jobs_of(db, globex.id)} == {"pending"}
    state = await handoffs.load(acme.id)
    assert state.card.state == "failed" and state.status == "open"  # the escalation itself is kept
    assert (await handoffs.load(globex.id)).card.state == "pending"


async def test_an_unknown_workspace_changes_nothing(handoffs):
    removed = await handoffs.workspace_removed(workspace=ACME, reason="app_uninstalled")
    assert not removed.known and removed.stopped_jobs == 0
