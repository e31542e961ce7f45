"""Socket Mode, no public URL: the real AsyncSocketModeHandler against a local Socket Mode server
(tests/fakes/slack_socket_mode.py). The slash command, the modal submission and a Pick Up click travel
as envelopes and are acked within Slack's 3 s; a server-initiated disconnect is followed by a
reconnection that carries the next request; a frame that is not JSON breaks nothing."""

from contextlib import asynccontextmanager

from bot.config import Settings
from bot.server import SERVICES, create_app
from standins.slack import requests as slack
from tests.fakes.slack_api import ACME_TEAM
from tests.fakes.slack_socket_mode import APP_TOKEN, SlackSocketModeStandIn
from tests.journeys.slack_bot import (ANSWER_BOUND_S, CHANNEL, DANA, JAMIE, acks_judged_by_the_bound, card_text, eventually,
                                      slack_person, workspace)
from tests.servers import serve


@asynccontextmanager
async def socket_mode_bot(database_url):
    fake = SlackSocketModeStandIn(ACME_TEAM)
    for actor in (JAMIE, DANA):
        fake.add_user(actor.user_id, actor.name, team_id=ACME_TEAM.id)
    async with serve(fake.app()) as fake_url:
        fake.base_url = fake_url
        # No signing secret and no /slack/events: everything arrives over the socket.
        config = Settings(database_url=database_url, slack_bot_token=ACME_TEAM.bot_token, slack_app_token=APP_TOKEN,
                          slack_api_url=f"{fake_url}/api/", slack_channel=CHANNEL, job_poll_s=0.05)
        app = create_app(config)
        acks_judged_by_the_bound(app)
        async with serve(app):
            await fake.connected(1)
            yield fake, app[SERVICES].handoffs


def within_3s(ack):
    """Slack's 3 s, with the room a loaded machine needs (see ANSWER_BOUND_S)."""
    assert ack.elapsed_s < ANSWER_BOUND_S, f"acked in {ack.elapsed_s:.2f}s: it waited on something"
    return ack


async def test_requests_over_the_socket_are_acked_and_handled_and_it_reconnects(pg_url):
    async with socket_mode_bot(pg_url) as (fake, handoffs):
        assert fake.calls_to("apps.connections.open")[0].token == APP_TOKEN

        ack = within_3s(await fake.send("slash_commands", slack.slash_command(JAMIE, "Payroll export fails")))
        assert ack.connection == 1
        await eventually(lambda: fake.calls_to("views.open"))
        view = list(fake.world.views.values())[-1]
        assert view["blocks"][0]["element"]["initial_value"] == "Payroll export fails"

        submitted = slack.view_submission(JAMIE, view_id=view["id"], private_metadata=view.get("private_metadata", ""),
                                          values=slack.modal_values(summary="Payroll export fails"))
        ack = within_3s(await fake.send("interactive", submitted))
        assert ack.payload["response_action"] == "update"  # the modal's answer rides on the ack
        [handoff] = await handoffs.queue(workspace=workspace(), viewer=slack_person(DANA))

        async def card_ts():
            state = await handoffs.load(handoff.id)
            return state.card.message_ref if state.card else None
        ts = await eventually(card_ts)

        for garbled in ("this is not json", '{"envelope_id": "E1", "type": "interactive", "payl'):
            await fake.send_raw(garbled)  # the SDK drops or logs it; the connection carries on

        click = slack.block_action(DANA, action_id="handoff_pickup", value=str(handoff.id), message_ts=ts)
        within_3s(await fake.send("interactive", click))
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(fake.message(CHANNEL, ts)))

        await fake.disconnect()
        assert len(fake.calls_to("apps.connections.open")) == 2 and fake.connections[0].closed
        ack = within_3s(await fake.send("slash_commands", slack.slash_command(JAMIE, "list")))
        assert ack.connection == 2 and "open escalation" in ack.payload["text"]
        assert (await handoffs.load(handoff.id)).claimed_by.external_id == "U-DANA"
