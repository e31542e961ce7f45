"""The ticket check at submit, against each PSA's fake: found, refused with a clear message, or unchecked."""

from __future__ import annotations

import pytest

from cards.psa_messages import ticket_problem
from cards.slack_messages import plain_text
from core.psa_form import TicketProblem
from psa.tickets import Checked, TicketChecker, Unchecked
from tests.factories import ACME
from tests.psa.notes_rig import notes_rig
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig


@pytest.mark.parametrize("vendor", VENDORS)
async def test_ticket_check_outcomes(pg_db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(pg_db, rig.connection()) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESC")
        checker = TicketChecker(r.directory, timeout_s=5)  # a found ticket must not time out on a loaded machine
        found = await checker.check(workspace_id=ws.id, reference=rig.ticket_ref)
        assert isinstance(found, Checked)
        assert (found.ticket.title, found.ticket.company) == ("Mail flow broken for finance", "Contoso Ltd")
        closed_ref = rig.fake.tickets[77].number
        for reference, expected in ((" 12 34", ""), ("INC-42", ""), ("1" * 200, ""), ("999999", "has no ticket"),
                                    (closed_ref, "is closed")):
            if vendor == "autotask" and reference == "999999":
                reference = "T20990101.0001"
            outcome = await checker.check(workspace_id=ws.id, reference=reference)
            assert isinstance(outcome, TicketProblem) and expected in plain_text(ticket_problem(outcome)), (reference, outcome)
        rig.fake.go_down(5)
        down = await checker.check(workspace_id=ws.id, reference=rig.ticket_ref)
        assert isinstance(down, Unchecked)
        assert rig.fake.violations == []


async def test_no_psa_is_unchecked_without_a_request(pg_db):
    async with notes_rig(pg_db) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESC")
        outcome = await TicketChecker(r.directory).check(workspace_id=ws.id, reference=str(TICKET_ID))
        assert outcome == Unchecked("no PSA connection")
