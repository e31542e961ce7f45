"""The PSA's words are said once: the escalate form's ticket-field errors, and what the PSA settings answer
(a non-admin, a missing field, rejected credentials), are the same views from cards/psa_messages.py on Slack
and on Teams, each rendered by its platform's renderer, through each platform's real HTTP door."""

from __future__ import annotations

import pytest

from cards import messages, psa_messages, slack_messages, teams_messages
from cards.view import PersonView
from core.models import Refused
from core.psa_form import REQUIRED, PsaTestResult, TicketProblem
from tests.journeys import test_psa_admin_slack as slack_psa
from tests.journeys import test_psa_admin_teams as teams_psa
from tests.parity.drivers import ADMIN, FormError, driver
from tests.psa.notes_rig import KEY
from tests.psa.rigs import VENDORS, psa_rig


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_ticket_field_errors(platform, vendor, pg_db, pg_url):
    async with psa_rig(vendor) as rig, driver(platform, pg_db, pg_url, **rig.env) as d:
        missing = "T20990101.0001" if vendor == "autotask" else "999999"
        closed = rig.fake.tickets[77]
        cases = [("12 34", TicketProblem("bad_form", vendor, "12 34")),
                 (missing, TicketProblem("not_found", vendor, missing)),
                 (closed.number, TicketProblem("closed", vendor, closed.number, number=closed.number,
                                               title=closed.title))]
        for reference, problem in cases:
            with pytest.raises(FormError) as error:
                await d.escalate("Jamie", summary="Printer offline", ticket=reference)
            assert str(error.value) == d.form_error(psa_messages.ticket_problem(problem)), (platform, reference)


async def _slack_settings(d, rig) -> list[tuple[str, str]]:
    """(what the person saw, the view rendered for Slack) for each step."""
    bot, render = d.bot, slack_messages.plain_text
    admin, jamie = d.actor(ADMIN), d.actor("Jamie")
    await bot.handoffs.bootstrap_admin(workspace=d.workspace, person=d.key(ADMIN))
    view = await slack_psa.open_psa(bot, admin)
    values = slack_psa.cw_values(rig.fake.url)
    refused = await slack_psa.submit_psa(bot, jamie, view, values)
    missing = await slack_psa.submit_psa(bot, admin, view, slack_psa.cw_values(rig.fake.url, company=""))
    await slack_psa.submit_psa(bot, admin, view, slack_psa.cw_values(rig.fake.url, private="wrong"))
    await slack_psa.eventually(lambda: bot.fake.calls_to("views.update"))
    tested = bot.fake.calls_to("views.update")[-1].args["view"]["blocks"][-1]["text"]["text"]
    return [(refused["errors"]["psa_url"], render(_refusal())),
            (missing["errors"]["psa_company"], render(psa_messages.field_problem("connectwise", "company", REQUIRED))),
            (tested, slack_messages.paragraphs_mrkdwn(_rejected()))]


async def _teams_settings(d, rig) -> list[tuple[str, str]]:
    bot, render = d.bot, teams_messages.plain_text
    admin, jamie = d.user(ADMIN), d.user("Jamie")
    await bot.handoffs.bootstrap_admin(workspace=d.workspace, person=d.key(ADMIN))
    typed = {"psa_form_kind": "connectwise", "psa_url": rig.fake.url, "psa_company": "acme", "psa_public_key": "pub",
             "psa_client_id": "client", "psa_private_key": "wrong"}
    refused = await teams_psa.act(bot, jamie, "psa_save", **typed)
    missing = await teams_psa.act(bot, admin, "psa_save", **{**typed, "psa_company": ""})
    tested = await teams_psa.act(bot, admin, "psa_save", **typed)
    texts = lambda card: [b["text"] for b in card["body"] if b.get("type") == "TextBlock"]  # noqa: E731
    return [(texts(refused)[-1], _escaped(render(_refusal()))),
            (next(t for t in texts(missing) if "Company ID" in t),
             _escaped(render(psa_messages.field_problem("connectwise", "company", REQUIRED)))),
            (texts(tested)[-1].split("\n\n")[-1], _escaped(render(_rejected())))]


def _refusal():
    return messages.refusal(Refused("not_admin"), admins=[PersonView("U-ADA", ADMIN)])


def _rejected():
    return psa_messages.test_result(PsaTestResult("rejected", "connectwise", status=401))


def _escaped(text: str) -> str:
    from cards.teams import escape_markdown
    return escape_markdown(text, 900)


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_psa_settings_answers(platform, pg_db, pg_url):
    async with psa_rig("connectwise") as rig, driver(platform, pg_db, pg_url, secret_key=KEY) as d:
        steps = await (_slack_settings if platform == "slack" else _teams_settings)(d, rig)
        for seen, expected in steps:
            assert seen == expected, platform


@pytest.mark.parametrize("assign", [True, False])
def test_the_assign_switch_is_on_both_platforms_settings_with_the_same_words_and_state(assign):
    from cards.slack_psa import psa_modal
    from cards.teams_psa import psa_section
    from core.psa_form import PsaStatus

    status = PsaStatus("halo", "https://h.example/api", "stored", assign=assign)
    [box] = [b["element"] for b in psa_modal(status)["blocks"] if b.get("block_id") == "psa_assign"]
    [toggle] = [b for b in psa_section(status, tenant_id="t", can_change=True) if b.get("id") == "psa_assign"]
    assert box["options"][0]["text"]["text"] == toggle["title"] == psa_messages.ASSIGN_LABEL
    assert ("initial_options" in box) == (toggle["value"] == "true") == assign


async def _slack_switch(d) -> tuple[str, str]:
    """(the App Home line about the ticket owner, the answer to ticking the box) as Slack shows them."""
    bot, admin = d.bot, d.actor(ADMIN)
    await bot.handoffs.bootstrap_admin(workspace=d.workspace, person=d.key(ADMIN))
    home = await slack_psa.home(bot, admin)
    said = await slack_psa.tick(bot, admin, slack_psa.assign_box(home), on=True)
    home = await slack_psa.home(bot, admin)
    line = next(b["text"]["text"] for b in home["blocks"] if b.get("text", {}).get("text", "").startswith("Ticket owner"))
    return line, said


async def _teams_switch(d) -> tuple[str, str]:
    bot, admin = d.bot, d.user(ADMIN)
    await bot.handoffs.bootstrap_admin(workspace=d.workspace, person=d.key(ADMIN))
    card = await teams_psa.act(bot, admin, "psa_assign", psa_assign="true")
    texts = [b["text"] for b in card["body"] if b.get("type") == "TextBlock"]
    return next(t for t in texts if t.startswith("Ticket owner")), texts[-1]


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_the_ticket_owner_switch_on_the_environments_connection_says_the_same(platform, pg_db, pg_url):
    """No credentials typed, no HANDOFF_SECRET_KEY: the admin switches assignment on; both platforms answer with
    the same view and then show the same line, each rendered by its platform."""
    from core.psa_form import PsaStatus

    async with psa_rig("halo") as rig, driver(platform, pg_db, pg_url, **rig.env) as d:
        line, said = await (_slack_switch if platform == "slack" else _teams_switch)(d)
        now = PsaStatus("halo", assign=True, assign_chosen=True)
        if platform == "slack":
            assert line == slack_messages.paragraphs_mrkdwn(psa_messages.assign_line(now))
            assert said == slack_messages.paragraphs_mrkdwn(psa_messages.assign_set(now))
        else:
            assert line == _escaped(teams_messages.plain_text(psa_messages.assign_line(now)))
            assert said == _escaped(teams_messages.plain_text(psa_messages.assign_set(now)))


@pytest.mark.parametrize("chosen", [True, False])
@pytest.mark.parametrize("assign", [True, False])
def test_the_settings_views_show_the_environments_switch_alike(assign, chosen):
    """On the environment's connection both views show the ticket-owner line and a switch of their own (no
    credentials form needed), with the same words and state."""
    from cards.slack_psa import psa_home
    from cards.teams_psa import ASSIGN_VERB, psa_section
    from core.psa_form import PsaStatus

    status = PsaStatus("connectwise", "https://cw.example/api", "environment", assign=assign, assign_chosen=chosen)
    home = psa_home(status, can_change=True)
    section = psa_section(status, tenant_id="t", can_change=True)
    [box] = [e for b in home if b.get("block_id") == "handoff_psa_assign" for e in b["elements"]]
    [toggle] = [b for b in section if b.get("id") == "psa_assign"]
    assert box["options"][0]["text"]["text"] == toggle["title"] == psa_messages.ASSIGN_LABEL
    assert ("initial_options" in box) == (toggle["value"] == "true") == assign
    assert ASSIGN_VERB in [a["verb"] for b in section if b.get("type") == "ActionSet" for a in b["actions"]]
    line = psa_messages.assign_line(status)
    assert slack_messages.paragraphs_mrkdwn(line) in [b.get("text", {}).get("text") for b in home]
    assert _escaped(teams_messages.plain_text(line)) in [b.get("text") for b in section]
    assert ("this workspace's choice" in teams_messages.plain_text(line)) == chosen
