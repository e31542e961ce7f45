"""The named senior's DM, App Home, other workspaces, and Socket Mode wiring."""

from bot.config import Settings
from bot.server import create_app
from bot.slack.app import SLACK
from standins.slack import requests as slack
from core.models import PersonKey
from standins.slack.requests import Actor
from tests.factories import snapshot
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


async def test_a_request_from_another_workspace_is_told_and_changes_nothing(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        stranger = Actor("U-EVE", "Eve", team_id="T-GLOBEX")
        response_url = bot.fake.response_url(user="U-EVE", channel=None)
        answer = await bot.send(slack.slash_command(stranger, "let me in", response_url=response_url))
        assert answer.status == 200
        [told] = bot.fake.ephemerals_for("U-EVE")
        assert told["text"] == "Handoff isn't set up for this workspace, so nothing happened. Ask your admin to install it."
        answer = await bot.send(slack.view_submission(stranger, view_id="V-EVE", values=slack.modal_values(summary="x")))
        assert answer.status == 200 and "isn't set up for this workspace" in answer.text
        assert bot.fake.calls_to("views.open") == []
        assert await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA)) == []


async def test_the_list_is_one_message_of_at_most_50_blocks_newest_first(sqlite_url):
    """60 open escalations: the list shows the newest that fit, then says how many more and where."""
    async with running_bot(sqlite_url) as bot:
        await bot.handoffs.register_workspace(workspace(), channel=CHANNEL)
        for i in range(60):
            author = PersonKey(f"U-JUNIOR-{i:02d}", f"junior{i:02d}")
            await bot.handoffs.escalate(workspace=workspace(), author=author, snapshot=snapshot(summary=f"Problem {i:02d}"))
        listing = (await bot.send(slack.slash_command(DANA, "list"))).json()
        blocks = listing["blocks"]
        assert len(blocks) == 50 and listing["response_type"] == "ephemeral"
        items = [b["text"]["text"].split("*")[1] for b in blocks if b.get("accessory", {}).get("action_id") == "handoff_pickup"]
        assert items == [f"Problem {i:02d}" for i in range(59, 13, -1)], "the 46 newest, newest first"
        assert blocks[-1]["elements"][0]["text"] == "and 14 more — see Handoff's App Home."
        assert listing["text"] == "0 parked, 60 open escalations"


def test_socket_mode_needs_no_public_route(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}", slack_bot_token="xoxb-x",
                        slack_app_token="xapp-1-x")
    app = create_app(settings, run_worker=False)
    assert app[SLACK].app_token == "xapp-1-x" and app[SLACK].routes == []
    assert not [r for r in app.router.routes() if r.resource.canonical.startswith("/slack")]
