"""`handoff demo --teams`: the whole Teams flow in one process, no Microsoft or Anthropic account needed.

The bot runs exactly as it would for the Microsoft 365 Agents Playground (HANDOFF_TEAMS_LOCAL_DEV, bound
to 127.0.0.1, embedded SQLite): activities are posted to /api/messages without a token and the bot answers
through a local Bot Framework connector stand-in. An admin picks the escalation channel, a junior fills in
the dialog, the card is posted and assessed, two seniors press Pick Up at the same moment, and the
transcript shows what each of them sees.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Settings
from bot.server import SERVICES, create_app
from bot.teams.local_dev import LOCAL_APP_ID
from demo.transcript import Transcript, ms
from standins.http import serve
from standins.teams.activities import TeamsPlace, TeamsSender, teams_user
from standins.teams.bot_framework import FakeBotFramework, served

TENANT = "5f8d2b1e-9c4a-4e7b-8a61-3d2c1b0a9f88"
CHANNEL = "19:escalations@thread.tacv2"
ALEX = teams_user("Alex")  # the Teams admin
JAMIE = teams_user("Jamie")
DANA = teams_user("Dana")
CAROL = teams_user("Carol")


def as_text(markdown: str) -> str:
    """Teams markdown and mention tags as a person reads them."""
    text = re.sub(r"<at>([^<]*)</at>", r"@\1", markdown)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1 (\2)", text)
    text = re.sub(r"\*\*([^*]+)\*\*|(?<![\w*])_([^_\n]+)_(?![\w*])", lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", r"\1", text)  # markdown escapes


def card_as_text(card: dict[str, Any]) -> list[str]:
    """An Adaptive Card's body and buttons as lines of text (the element types our cards use)."""
    lines: list[str] = []
    for element in card.get("body", []):
        kind = element.get("type")
        if kind == "TextBlock":
            lines.append(as_text(element.get("text", "")))
        elif kind == "FactSet":
            lines.append("  ".join(f"{f['title']} {as_text(f['value'])}" for f in element.get("facts", [])))
        elif kind and kind.startswith("Input."):
            value = element.get("value") or ""
            lines.append(f"{element.get('label', element.get('id'))}: [{value}]")
    buttons = [a.get("title", "") for a in card.get("actions", [])]
    if buttons:
        lines.append("  ".join(f"[ {b} ]" for b in buttons))
    return lines


def answered_card(answer_body: dict[str, Any]) -> dict[str, Any]:
    """The card an adaptiveCard/action invoke answered with (Universal Actions: the presser's view)."""
    return answer_body.get("value") if isinstance(answer_body.get("value"), dict) else {}


async def run_demo(database_path: Path, out=print) -> int:
    transcript = Transcript(out)
    connector = FakeBotFramework(app_id=LOCAL_APP_ID, app_password="", check_tokens=False)
    async with served(connector, prefix="/_connector"):
        settings = Settings(database_url=f"sqlite+aiosqlite:///{database_path}", teams_local_dev=True,
                            host="127.0.0.1", job_poll_s=0.05)
        app = create_app(settings, run_worker=False)
        async with serve(app) as bot_url, aiohttp.ClientSession() as session:
            out(f"Handoff demo (Teams): a Bot Framework connector stand-in at {connector.base_url}, the bot at "
                f"{bot_url} in local development mode (as for the Agents Playground), SQLite at {database_path}\n")
            place = TeamsPlace(tenant_id=TENANT, bot_id=LOCAL_APP_ID, service_url=connector.service_url)
            await play(place, TeamsSender(bot_url, session), connector, app[SERVICES], transcript)
    return 0


def _said_since(connector: FakeBotFramework, before: int) -> list[str]:
    return [as_text(c.body.get("text") or "") for c in connector.calls[before:] if c.kind in ("reply", "send")]


async def play(place: TeamsPlace, sender: TeamsSender, connector: FakeBotFramework, services,
               transcript: Transcript) -> None:
    say, worker = transcript.say, services.worker()

    before = len(connector.calls)
    await sender.send(place.message("use this channel", sender=ALEX, in_channel=CHANNEL))
    say("Alex", "posts \"@Handoff use this channel\" in #escalations")
    for line in _said_since(connector, before):
        say("Alex", "sees Handoff reply: " + line)

    before = len(connector.calls)
    await sender.send(place.message("escalate", sender=JAMIE))
    launcher = next(c.body for c in connector.calls[before:] if c.kind in ("reply", "send"))
    transcript.box("Jamie's chat with Handoff", card_as_text(launcher["attachments"][0]["content"]))
    fetched = await sender.send(place.invoke("task/fetch", {"data": {"verb": "escalate"}}, sender=JAMIE))
    dialog = fetched.body["task"]["value"]
    form = dialog["card"]["content"]
    say("Jamie", f"presses Escalate ({ms(fetched.elapsed_s)})")
    transcript.box(f"Jamie's dialog: {dialog['title']}", card_as_text(form))
    fields = {"summary": "Finance mailbox rejects external mail",
              "tried": "Restarted the transport service; mail from inside still arrives",
              "urgency": "high", "ticket": "INC-4711"}
    submitted = await sender.send(place.invoke(
        "task/submit", {"data": {**form["actions"][0]["data"], **fields}}, sender=JAMIE))
    say("Jamie", f"fills in what they tried, urgency High, ticket INC-4711, presses Escalate ({ms(submitted.elapsed_s)})")
    say("Jamie", "sees: " + as_text(str(submitted.body["task"]["value"])))

    await worker.drain(timeout_s=30)
    [(conversation, card_id)] = connector.created
    transcript.box("#escalations: Handoff posts the card (and edits in the assessment)",
                   card_as_text(connector.card_of(card_id)))

    handoff_id = next(a["data"]["handoff_id"] for a in connector.card_of(card_id)["actions"])
    started = time.perf_counter()
    answers = await asyncio.gather(*(
        sender.send(place.card_action("pickup", {"handoff_id": handoff_id}, sender=who, conversation_id=conversation,
                                      channel=CHANNEL))
        for who in (DANA, CAROL)))
    say("Dana & Carol", "press Pick Up at the same moment (answered in "
        + " and ".join(ms(a.elapsed_s) for a in answers) + f", {ms(time.perf_counter() - started)} for both)")
    for who, answer in zip((DANA, CAROL), answers):
        transcript.box(f"What {who['name']} sees on the card", card_as_text(answered_card(answer.body)))

    before = len(connector.calls)
    await services.inflight.wait_idle(30)  # anything the invokes left behind
    await worker.drain(timeout_s=30)
    for line in _said_since(connector, before):
        transcript.box("#escalations thread: Handoff replies", [line])

    handoff = await services.handoffs.load(uuid.UUID(handoff_id))
    owner = handoff.claimed_by.display_name if handoff.claimed_by else "nobody"
    transcript.box(f"The final card in #escalations ({owner}'s own view adds Release and Resolve)",
                   card_as_text(connector.card_of(card_id)))
