"""The named senior's DM, App Home, other workspaces, and Socket Mode wiring."""

from bot.config import Settings
from bot.server import create_app
from bot.slack.app import SLACK
from standins.slack import requests as slack
from standins.slack.requests import Actor
from tests.journeys.slack_bot import CHANNEL, DANA, JAMIE, eventually, running_bot, slack_person, workspace


async def test_the_named_senior_gets_a_dm_with_a_link_to_the_card(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE, target="U-DANA")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: bot.fake.dms_to("U-DANA"))
        [dm] = bot.fake.dms_to("U-DANA")
        assert dm["text"].startswith("<@U-JAMIE> asked you to look at an escalation: *Finance mailbox rejects external mail*.")
        assert f"/archives/{CHANNEL}/p{ts.replace('.', '')}|Open the card>" in dm["text"]


async def test_app_home_shows_the_open_queue(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        await bot.escalate(JAMIE)
        opened = slack.event_callback("T-ACME", {"type": "app_home_opened", "user": "U-DANA", "tab": "home"})
        assert (await bot.send(opened)).status == 200
        await eventually(lambda: bot.fake.world.home_views.get("U-DANA"))
        home = bot.fake.world.home_views["U-DANA"]
        assert [b["accessory"]["action_id"] for b in home["blocks"] if "accessory" in b] == ["handoff_pickup"]


async def test_a_request_from_another_workspace_changes_nothing(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        stranger = Actor("U-EVE", "Eve", team_id="T-GLOBEX")
        answer = await bot.send(slack.slash_command(stranger, "let me in"))
        assert answer.status != 200 or not answer.text.strip().startswith("{")
        answer = await bot.send(slack.view_submission(stranger, view_id="V-EVE", values=slack.modal_values(summary="x")))
        assert bot.fake.calls_to("views.open") == []
        assert await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA)) == []


def test_socket_mode_needs_no_public_route(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}", slack_bot_token="xoxb-x",
                        slack_app_token="xapp-1-x")
    app = create_app(settings, run_worker=False)
    assert app[SLACK].app_token == "xapp-1-x" and app[SLACK].routes == []
    assert not [r for r in app.router.routes() if r.resource.canonical.startswith("/slack")]
