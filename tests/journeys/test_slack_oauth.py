"""Many Slack workspaces: the OAuth v2 install over real HTTP, per-workspace tokens, refusals, removal."""

import logging

from standins.slack import requests as slack
from core.models import WorkspaceKey
from tests.journeys.slack_bot import card_text, eventually
from tests.journeys.slack_oauth_rig import ACME, CLIENT_ID, CLIENT_SECRET, GLOBEX, actor, oauth_bot

JAMIE = actor(ACME, "U-JAMIE", "Jamie")
DANA = actor(ACME, "U-DANA", "Dana")
GLOBEX_GUS = actor(GLOBEX, "U-GUS", "Gus")
GLOBEX_GRETA = actor(GLOBEX, "U-GRETA", "Greta")


async def set_channel(bot, team, channel):
    await bot.handoffs.register_workspace(WorkspaceKey("slack", team.id), channel=channel)


async def escalate(bot, who, summary):
    """/escalate -> modal -> submit; returns the token Slack saw on views.open."""
    before = len(bot.fake.calls_to("views.open"))
    assert (await bot.send(slack.slash_command(who))).status == 200
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    opened = bot.fake.calls_to("views.open")[-1]
    view = list(bot.fake.world.views.values())[-1]
    answer = await bot.send(slack.view_submission(who, view_id=view["id"], values=slack.modal_values(summary=summary)))
    assert answer.json()["response_action"] == "update", answer.text
    return opened.token


async def test_install_stores_the_workspace_and_its_requests_use_its_token(pg_url):
    async with oauth_bot(pg_url) as bot:
        query = await bot.start_install()
        assert query["client_id"] == [CLIENT_ID] and "commands" in query["scope"][0].split(",")
        state = query["state"][0]
        page = await bot.get("/slack/oauth_redirect", code=bot.fake.approve(ACME), state=state)
        assert page.status == 200 and "Handoff is installed in the Acme MSP workspace" in page.text
        assert "/escalate setup" in page.text
        [exchange] = bot.fake.calls_to("oauth.v2.access")
        assert exchange.args["code"].startswith("code-T-ACME")
        [stored] = await bot.stored_bots("T-ACME")
        [token] = bot.fake.tokens_of("T-ACME")
        assert stored["bot_token"] == token and stored["client_id"] == CLIENT_ID
        assert token not in page.text

        await set_channel(bot, ACME, "C-ACME-ESC")
        assert await escalate(bot, JAMIE, "VPN down for the Leeds office") == token
        await eventually(lambda: bot.fake.channel("C-ACME-ESC"))
        [card] = bot.fake.channel("C-ACME-ESC")
        assert "VPN down for the Leeds office" in card_text(card)
        posts = bot.fake.calls_to("chat.postMessage")
        assert posts and {c.token for c in posts} == {token}


async def test_a_forged_or_reused_state_is_refused_and_nothing_is_stored(pg_url, caplog):
    caplog.set_level(logging.INFO, logger="handoff")  # other tests (the demo) quiet it
    async with oauth_bot(pg_url) as bot:
        await bot.start_install()  # the browser holds a real state cookie
        forged = await bot.get("/slack/oauth_redirect", code=bot.fake.approve(ACME), state="forged-state",
                               cookies={"slack-app-oauth-state": "forged-state"})
        assert forged.status == 401 and "expired or was already used" in forged.text
        assert await bot.stored_bots() == [] and bot.fake.calls_to("oauth.v2.access", ok_only=False) == []

        query = await bot.start_install()
        state = query["state"][0]
        cookie = dict(bot.cookies)
        assert (await bot.install_with(state, ACME)).status == 200
        reused = await bot.get("/slack/oauth_redirect", code=bot.fake.approve(GLOBEX), state=state, cookies=cookie)
        assert reused.status == 401 and "expired or was already used" in reused.text
        assert [b["team_id"] for b in await bot.stored_bots()] == ["T-ACME"]
        other_browser = await bot.get("/slack/oauth_redirect", code=bot.fake.approve(GLOBEX), state=state, cookies={})
        assert other_browser.status == 400 and "another browser" in other_browser.text
        assert "invalid_state" in caplog.text and "forged-state" not in caplog.text


async def test_a_denied_install_or_an_expired_code_gets_a_clear_page(pg_url, caplog):
    caplog.set_level(logging.INFO)  # HANDOFF_LOG_LEVEL's default (slack_sdk's DEBUG lines echo request fields)
    caplog.set_level(logging.INFO, logger="handoff")  # other tests (the demo) quiet it
    async with oauth_bot(pg_url) as bot:
        query = await bot.start_install()
        denied = await bot.get("/slack/oauth_redirect", error="access_denied", state=query["state"][0])
        assert denied.status == 200 and "the install was cancelled in Slack" in denied.text

        query = await bot.start_install()
        old_code = bot.fake.approve(ACME, age_s=601)
        expired = await bot.get("/slack/oauth_redirect", code=old_code, state=query["state"][0])
        assert expired.status == 401 and "Start again from the install link" in expired.text
        assert [c.ok for c in bot.fake.calls_to("oauth.v2.access", ok_only=False)] == [False]
        assert await bot.stored_bots() == []
        assert CLIENT_SECRET not in expired.text
        assert "Slack install refused: invalid_code" in caplog.text
        assert old_code not in caplog.text and CLIENT_SECRET not in caplog.text


async def test_two_workspaces_side_by_side_never_see_each_other(pg_url):
    async with oauth_bot(pg_url) as bot:
        assert (await bot.install(ACME)).status == 200
        assert (await bot.install(GLOBEX)).status == 200
        [acme_token], [globex_token] = bot.fake.tokens_of("T-ACME"), bot.fake.tokens_of("T-GLOBEX")
        await set_channel(bot, ACME, "C-ACME-ESC")
        await set_channel(bot, GLOBEX, "C-GLOBEX-ESC")

        assert await escalate(bot, JAMIE, "Acme: printer queue stuck") == acme_token
        assert await escalate(bot, GLOBEX_GUS, "Globex: SSO loop") == globex_token
        await eventually(lambda: bot.fake.channel("C-ACME-ESC") and bot.fake.channel("C-GLOBEX-ESC"))
        for call in bot.fake.calls_to("chat.postMessage"):
            expected = acme_token if call.args["channel"].startswith("C-ACME") or "JAMIE" in call.args["channel"] \
                else globex_token
            assert call.token == expected, call
        assert "printer" in card_text(bot.fake.channel("C-ACME-ESC")[0])
        assert "SSO" in card_text(bot.fake.channel("C-GLOBEX-ESC")[0])

        # Globex's list shows Globex's handoff only; its people are its own.
        listed = await bot.send(slack.slash_command(GLOBEX_GRETA, "list"))
        assert "SSO loop" in listed.text and "printer" not in listed.text
        [(acme_id,)] = await bot.rows("SELECT h.id FROM handoffs h JOIN workspaces w ON w.id = h.workspace_id "
                                      "WHERE w.external_id = 'T-ACME'")
        # A Globex user pressing Pick Up with Acme's handoff id finds nothing.
        spoof = slack.block_action(GLOBEX_GUS, action_id="handoff_pickup", value=str(acme_id),
                                   message_ts="1.000001")
        assert (await bot.send(spoof)).status == 200
        await eventually(lambda: bot.fake.responses)
        assert "can't find this escalation" in bot.fake.responses[-1]["text"]
        assert await bot.rows("SELECT claimed_by FROM handoffs WHERE claimed_by IS NOT NULL") == []
        people = await bot.rows("SELECT w.external_id, p.external_id FROM people p "
                                "JOIN workspaces w ON w.id = p.workspace_id")
        assert sorted(people) == [("T-ACME", "U-JAMIE"), ("T-GLOBEX", "U-GRETA"), ("T-GLOBEX", "U-GUS")]


async def test_app_uninstalled_removes_the_token_and_stops_pending_deliveries(pg_url, caplog):
    caplog.set_level(logging.INFO, logger="handoff")  # other tests (the demo) quiet it
    async with oauth_bot(pg_url, run_worker=False) as bot:  # no worker: the card is still waiting to go out
        assert (await bot.install(ACME)).status == 200
        await set_channel(bot, ACME, "C-ACME-ESC")
        await escalate(bot, JAMIE, "Backups failing since Friday")
        assert {state for (state,) in await bot.rows("SELECT state FROM jobs")} == {"pending"}

        assert (await bot.send(slack.event_callback("T-ACME", {"type": "app_uninstalled"}))).status == 200
        bot.fake.revoke("T-ACME")
        await eventually(lambda: bot.rows("SELECT kind FROM events WHERE kind = 'workspace_removed'"))
        assert await bot.stored_bots() == []
        assert await bot.rows("SELECT COUNT(*) FROM slack_installations") == [(0,)]
        assert set(await bot.rows("SELECT state, last_error FROM jobs")) == {("failed", "app_uninstalled")}
        assert await bot.rows("SELECT state, last_error FROM cards") == [("failed", "app_uninstalled")]
        assert "Slack workspace T-ACME: app_uninstalled; tokens deleted" in caplog.text
        assert bot.fake.calls_to("chat.postMessage", ok_only=False) == []

        # Later requests from that workspace: a clear answer, a log line naming it, nothing stored.
        handoffs_before = await bot.rows("SELECT COUNT(*) FROM handoffs")
        assert (await bot.send(slack.slash_command(JAMIE, "printer on fire"))).status == 200
        await eventually(lambda: bot.fake.responses)
        assert "isn't set up for this workspace" in bot.fake.responses[0]["text"]
        assert "Slack workspace T-ACME: no installation" in caplog.text
        assert await bot.rows("SELECT COUNT(*) FROM handoffs") == handoffs_before
        assert bot.fake.calls_to("views.open") and len(bot.fake.calls_to("views.open")) == 1


async def test_a_workspace_whose_token_was_revoked_is_dropped_and_stores_nothing(pg_url, caplog):
    caplog.set_level(logging.INFO, logger="handoff")  # other tests (the demo) quiet it
    async with oauth_bot(pg_url) as bot:
        assert (await bot.install(ACME)).status == 200
        assert (await bot.install(GLOBEX)).status == 200
        bot.fake.revoke("T-ACME")
        revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}}
        assert (await bot.send(slack.event_callback("T-ACME", revoked))).status == 200
        await eventually(lambda: bot.rows("SELECT 1 FROM events WHERE kind = 'workspace_removed'"))
        assert [b["team_id"] for b in await bot.stored_bots()] == ["T-GLOBEX"]
        submitted = slack.view_submission(JAMIE, view_id="V-LEFT-OPEN", values=slack.modal_values(summary="Still here?"))
        answer = await bot.send(submitted)
        assert answer.status == 200 and "isn't set up for this workspace" in answer.text
        assert "Slack workspace T-ACME: no installation" in caplog.text
        assert await bot.rows("SELECT COUNT(*) FROM handoffs") == [(0,)]
        # Globex is untouched.
        await set_channel(bot, GLOBEX, "C-GLOBEX-ESC")
        assert await escalate(bot, GLOBEX_GUS, "Globex still works") == bot.fake.tokens_of("T-GLOBEX")[0]


async def test_expiring_tokens_are_rotated_before_use(pg_url):
    async with oauth_bot(pg_url, token_lifetime_s=3600) as bot:  # inside the 2-hour rotation window
        assert (await bot.install(ACME)).status == 200
        [installed] = await bot.stored_bots("T-ACME")
        assert installed["bot_refresh_token"].startswith("xoxe-1-") and installed["bot_token_expires_at"]
        await set_channel(bot, ACME, "C-ACME-ESC")
        used = await escalate(bot, JAMIE, "Rotate me")
        refreshes = [c for c in bot.fake.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
        assert refreshes and refreshes[0].args["refresh_token"] == installed["bot_refresh_token"]
        assert used != installed["bot_token"] and used in bot.fake.tokens_of("T-ACME")
        [stored] = await bot.stored_bots("T-ACME")
        assert stored["bot_token"] != installed["bot_token"]
