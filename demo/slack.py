"""`handoff demo`: the whole Slack flow in one process, no Slack or Anthropic account needed.

A local Slack stand-in serves the Web API over real HTTP; the real bot (bolt app, core, worker)
runs on the embedded SQLite default; a junior escalates and two seniors race for Pick Up through
signed requests, exactly as Slack would send them. Prints what each person sees.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.server import SERVICES, create_app
from cards.slack import block_kit_builder_url
from core.models import WorkspaceKey
from demo.transcript import Transcript, ms, wait_for
from standins.http import serve
from standins.slack import requests as slack
from standins.slack.requests import Actor, SlackSender
from standins.slack.web_api import SlackWebApiStandIn, Team

TEAM = Team(id="T-DEMO", name="Demo MSP", bot_token="xoxb-demo", domain="demo-msp")
SECRET = "demo-signing-secret"
CHANNEL = "C-ESCALATIONS"
CHANNEL_NAMES = {CHANNEL: "escalations", "C-HELPDESK": "help-desk"}
JAMIE = Actor("U-JAMIE", "Jamie", team_id=TEAM.id, channel_id="C-HELPDESK")
DANA = Actor("U-DANA", "Dana", team_id=TEAM.id, channel_id=CHANNEL)
CAROL = Actor("U-CAROL", "Carol", team_id=TEAM.id, channel_id=CHANNEL)
PEOPLE = {a.user_id: a.name for a in (JAMIE, DANA, CAROL)}
WORKSPACE = WorkspaceKey("slack", TEAM.id)


def as_text(mrkdwn: str) -> str:
    """Slack markup as a person reads it: @names, #channels, link labels, plain characters."""
    text = re.sub(r"<@([\w-]+)>", lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)), mrkdwn)
    text = re.sub(r"<#([\w-]+)>", lambda m: "#" + CHANNEL_NAMES.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"(?<![\w*_])[*_]([^*_\n]+)[*_](?![\w*_])", r"\1", text)  # bold / italics
    return text.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_as_text(blocks: list[dict]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind in ("header", "section"):
            lines.append(as_text(block["text"]["text"]))
        elif kind == "context":
            lines.append(" ".join(as_text(e.get("text", "")) for e in block["elements"]))
        elif kind == "rich_text":
            for element in block["elements"]:
                if element["type"] == "rich_text_list":
                    for n, item in enumerate(element["elements"], 1):
                        bullet = f"{n}." if element.get("style") == "ordered" else "•"
                        lines.append(f"  {bullet} " + "".join(e.get("text", "") for e in item["elements"]))
                else:
                    lines.append("".join(e.get("text", "") for e in element["elements"]).rstrip())
        elif kind == "actions":
            lines.append("  ".join(f"[ {e['text']['text']} ]" if "text" in e else f"[ {e['placeholder']['text']} ▾ ]"
                                   for e in block["elements"]))
        elif kind == "divider":
            lines.append("─" * 40)
    return lines


async def run_demo(database_path: Path, out=print) -> int:
    transcript = Transcript(out)
    standin = SlackWebApiStandIn(TEAM)
    for actor in (JAMIE, DANA, CAROL):
        standin.add_user(actor.user_id, actor.name, team_id=TEAM.id)
    async with serve(standin.app()) as slack_url:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{database_path}", slack_bot_token=TEAM.bot_token,
            slack_signing_secret=SECRET, slack_api_url=f"{slack_url}/api/", slack_channel=CHANNEL, job_poll_s=0.05,
        )
        app = create_app(settings, run_worker=False)
        async with serve(app) as bot_url, aiohttp.ClientSession() as session:
            out(f"Handoff demo: a Slack stand-in at {slack_url}, the bot at {bot_url}, SQLite at {database_path}\n")
            await play(standin, SlackSender(bot_url, SECRET, session), app[SERVICES], transcript)
    return 0


async def play(standin: SlackWebApiStandIn, sender: SlackSender, services, transcript: Transcript) -> None:
    worker = services.worker()
    say = transcript.say

    answer = await sender.send(slack.slash_command(JAMIE, "Finance mailbox rejects external mail"))
    say("Jamie", f"types `/escalate Finance mailbox rejects external mail` (answered in {ms(answer.elapsed_s)})")
    await wait_for(lambda: standin.calls_to("views.open"))
    view = list(standin.world.views.values())[-1]
    say("Jamie", f"sees the \"{view['title']['text']}\" form, summary prefilled")
    answer = await sender.send(slack.view_submission(JAMIE, view_id=view["id"], private_metadata=view["private_metadata"],
        values=slack.modal_values(summary="Finance mailbox rejects external mail",
                                  tried="Restarted the transport service; mail from inside still arrives",
                                  urgency="high", ticket="INC-4711")))
    closing = answer.json()["view"]
    say("Jamie", f"adds what they tried, urgency High, ticket INC-4711, presses Send ({ms(answer.elapsed_s)})")
    say("Jamie", "sees: " + as_text(closing["blocks"][0]["text"]["text"]))

    await worker.drain(timeout_s=30)
    [card] = standin.channel(CHANNEL)
    transcript.box("#escalations: Handoff posts the card", blocks_as_text(card["blocks"]))
    for dm in standin.dms_to(JAMIE.user_id):
        say("Jamie", "gets a DM: " + as_text(dm["text"]))

    started = time.perf_counter()
    answers = await asyncio.gather(*(
        sender.send(slack.block_action(a, action_id="handoff_pickup", value=_pick_up_value(card), message_ts=card["ts"]))
        for a in (DANA, CAROL)))
    say("Dana & Carol", "press Pick Up at the same moment (answered in "
        + " and ".join(ms(a.elapsed_s) for a in answers) + f", {ms(time.perf_counter() - started)} for both)")
    await services.inflight.wait_idle(30)  # the handlers finish after their acks
    await worker.drain(timeout_s=30)
    [card] = standin.channel(CHANNEL)
    for reply in standin.thread(CHANNEL, card["ts"]):
        transcript.box("#escalations thread: Handoff replies", blocks_as_text(reply["blocks"]) or [as_text(reply["text"])])

    handoff = await services.handoffs.find_by_card(workspace=WORKSPACE, message_ref=card["ts"])
    owner = next(a for a in (DANA, CAROL) if a.user_id == handoff.claimed_by.external_id)
    await sender.send(slack.event_callback(TEAM.id, slack.thread_message(owner, text="On it: checking the connector",
                                                                           thread_ts=card["ts"])))
    await services.inflight.wait_idle(30)  # the event is acked first, then counted
    handoff = await services.handoffs.load(handoff.id)
    taken = (handoff.first_action_at - handoff.escalated_at).total_seconds() if handoff.first_action_at else None
    recorded = f"time to first action: {taken:.1f} s" if taken is not None else "not recorded yet"
    say(owner.name, f"replies in the thread: \"On it: checking the connector\" ({recorded})")

    transcript.box("The final card in #escalations", blocks_as_text(card["blocks"]))
    transcript.out("\nOpen the final card in Block Kit Builder:\n" + block_kit_builder_url(card["blocks"]))


def _pick_up_value(card: dict) -> str:
    return next(e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"])
