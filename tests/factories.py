"""Builders for the values tests need, so tests say only what matters to them."""

from __future__ import annotations

from core.handoffs import Handoffs
from core.models import PersonKey, WorkspaceKey
from core.snapshot import Snapshot, validate_snapshot

ACME = WorkspaceKey("slack", "T-ACME", "Acme MSP")
GLOBEX = WorkspaceKey("slack", "T-GLOBEX", "Globex")
JUNIOR = PersonKey("U-JUNIOR", "Jamie")
DANA = PersonKey("U-DANA", "Dana")
CAROL = PersonKey("U-CAROL", "Carol")


def snapshot(**fields) -> Snapshot:
    fields.setdefault("summary", "Exchange mailbox for finance can't receive external mail")
    result = validate_snapshot(fields)
    assert isinstance(result, Snapshot), result
    return result


async def escalated(handoffs: Handoffs, *, workspace=ACME, author=JUNIOR, key=None, **fields):
    await handoffs.register_workspace(workspace, channel="C-ESCALATIONS")
    outcome = await handoffs.escalate(workspace=workspace, author=author, snapshot=snapshot(**fields), idempotency_key=key)
    return outcome.handoff


def seniors(n: int) -> list[PersonKey]:
    return [PersonKey(f"U-SENIOR-{i:03d}", f"Senior {i}") for i in range(n)]
