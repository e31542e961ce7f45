"""One driver per platform, each through its real HTTP door: signed Slack requests into the real app with
the Slack stand-in behind it; JWT-signed Teams activities with the Bot Framework stand-in behind it.

A driver speaks in people's names ("Dana") and says what each person saw: what they were told privately,
what the card shows, what the card's thread says. The parity table asserts the same on both.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cards import slack_messages, teams_messages
from cards.messages import Message
from cards.parts import Line, PersonView
from cards.teams import escape_markdown
from core.handoffs import Handoffs
from core.models import PersonKey, WorkspaceKey
from core.worker import Worker
from core.snapshot import Snapshot
from core.text import strip_controls
from standins.slack import requests as slack
from standins.slack.requests import Actor
from tests.journeys.slack_bot import CHANNEL as SLACK_CHANNEL
from tests.journeys.slack_bot import card_text as slack_card_text
from tests.journeys.slack_bot import eventually, running_bot
from tests.journeys.test_teams_escalation import card_text as teams_card_text
from tests.journeys.test_teams_reminders import reply_text
from tests.teams import harness as teams
from tests.cards.card_lines import read, slack_lines, teams_lines
from tests.fakes.port import run_due
from tests.psa.notes_rig import Clock
from tests.teams.harness import ACME_TEAMS, PSA_NOTE

ADMIN = "Ada Admin"


class FormError(Exception):
    """The escalate form was answered with errors: field -> text as the person sees it under that field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class Driver:
    """What both drivers share: reading the core's record of what happened, and the service's clock."""

    bot: Any
    clock: Clock
    workspace: WorkspaceKey
    OTHER: str  # another workspace (Slack team, Teams tenant) on the same platform

    async def later(self, delta: timedelta, *, until: Callable[[], bool]) -> None:
        """Skip the service's clock ahead by `delta`, then run what falls due on it (a worker of the test's, on
        that clock, over the real outbox) until `until()` holds: waits for the condition, not a number of rounds."""
        self.clock.advance(seconds=delta.total_seconds())
        services = self.bot.services
        worker = Worker(services.database, services.job_kinds(), clock=self.clock, worker_id="parity-later")

        async def done() -> bool:
            await run_due(worker)
            return until()
        await eventually(done, timeout_s=20)

    def expected_line(self, line: Line) -> str:
        """A card line of the view model as this platform's card must read (a name as it shows the person)."""
        return read(line, self.shown_name)

    async def press_all(self, names: list[str], verb: str, handoff_id: str) -> None:
        """Everyone presses at the same moment."""
        await asyncio.gather(*(self.press(n, verb, handoff_id) for n in names))

    async def state(self, handoff_id: str):
        return await self.bot.handoffs.get(workspace=self.workspace, handoff_id=uuid.UUID(handoff_id))

    async def events_for(self, handoff_id: str) -> list[str]:
        return [e["kind"] for e in await self.bot.handoffs.events(uuid.UUID(handoff_id))]

    async def other_workspace_handoff(self) -> str:
        """An escalation in another workspace (tenant) of the same platform."""
        other = WorkspaceKey(self.workspace.platform, self.OTHER)
        await self.bot.handoffs.register_workspace(other, channel="C-OTHER")
        outcome = await self.bot.handoffs.escalate(workspace=other, author=PersonKey("someone-else", "Eve"),
                                                   snapshot=Snapshot(summary="Another company's outage"))
        return str(outcome.handoff.id)


@dataclass
class SlackDriver(Driver):
    bot: Any
    clock: Clock
    platform: str = "slack"
    actors: dict[str, Actor] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)  # handoff id -> card ts

    def actor(self, name: str) -> Actor:
        if name not in self.actors:
            user_id = "U-" + (re.sub(r"\W", "", name.upper()) or f"NONAME{len(self.actors)}")
            self.actors[name] = Actor(user_id, name)
            if name:  # a person with no name is unknown to users.info too
                self.bot.fake.add_user(user_id, name, team_id="T-ACME")
        return self.actors[name]

    def key(self, name: str) -> PersonKey:
        return PersonKey(self.actor(name).user_id, name)

    workspace = WorkspaceKey("slack", "T-ACME")
    OTHER = "T-GLOBEX"

    def name_of(self, person) -> str:
        return next(name for name, actor in self.actors.items() if actor.user_id == person.external_id)

    def form_error(self, message: Message) -> str:
        return slack_messages.plain_text(message)

    async def escalate(self, author: str, *, summary: str, target: str | None = None, **more: str) -> str:
        values = {"summary": summary, **more}
        if target:
            values["target"] = self.actor(target).user_id
        view = await self.bot.open_modal(self.actor(author))
        answer = (await self.bot.submit(self.actor(author), view, **values)).json()
        if answer["response_action"] == "errors":
            raise FormError(answer["errors"])
        [handoff] = [h for h in await self.bot.handoffs.queue(workspace=self.workspace, viewer=self.key(ADMIN))
                     if h.snapshot.summary == strip_controls(summary).strip()]
        self.cards[str(handoff.id)] = await self.bot.card_ts(handoff.id)
        return str(handoff.id)

    async def press(self, name: str, verb: str, handoff_id: str, *, choice: str | None = None,
                    offered: bool = True) -> None:
        """A click; with `choice`, the option of the button's menu whose key it is (as the card offers it;
        `offered=False`: an option the card does not offer, as an older card's menu would send it)."""
        ts = self.cards.get(handoff_id, "1700000000.000001")
        option = None
        if choice is not None and not offered:
            option = {"text": {"type": "plain_text", "text": choice}, "value": f"{handoff_id}|{choice}"}
        elif choice is not None:
            [option] = [o for b in self.bot.fake.message(SLACK_CHANNEL, ts)["blocks"] if b["type"] == "actions"
                        for e in b["elements"] if e["action_id"] == f"handoff_{verb}"
                        for o in e["options"] if o["value"].endswith(f"|{choice}")]
        answer = await self.bot.press(self.actor(name), verb, handoff_id, ts, option=option)
        assert answer.status == 200  # SlackBot.press checked how long the answer took

    def told(self, name: str) -> list[str]:
        return [e["text"] for e in self.bot.fake.ephemerals_for(self.actor(name).user_id)]

    async def told_now(self, name: str, count: int) -> list[str]:
        await eventually(lambda: len(self.told(name)) >= count)
        return self.told(name)

    async def settle(self) -> None:
        await self.bot.settled()

    def private(self, message: Message) -> str:
        return slack_messages.render(message)["text"]

    def in_thread(self, message: Message) -> str:
        return slack_messages.render(message)["text"]

    def thread(self, handoff_id: str) -> list[str]:
        return [m["text"] for m in self.bot.fake.thread(SLACK_CHANNEL, self.cards[handoff_id])]

    def card(self, handoff_id: str) -> str:
        """The card as everyone sees it, people's mentions shown as their names."""
        text = slack_card_text(self.bot.fake.message(SLACK_CHANNEL, self.cards[handoff_id]))
        for name, actor in self.actors.items():
            text = text.replace(f"<@{actor.user_id}>", name or "someone")
        return text

    def lines(self, handoff_id: str) -> dict[str, str]:
        """The card's status and assessment lines as read (a mention shows the person's Slack name)."""
        people = {actor.user_id: name or "someone" for name, actor in self.actors.items()}
        return slack_lines(self.bot.fake.message(SLACK_CHANNEL, self.cards[handoff_id])["blocks"], people)

    def shown_name(self, person: PersonView) -> str:
        return next((name for name, actor in self.actors.items() if actor.user_id == person.external_id), person.name)

    def everything_sent(self) -> str:
        return json.dumps([c.args for c in self.bot.fake.calls], ensure_ascii=False)

    def nudge_of(self, handoff_id: str) -> dict | None:
        nudges = [m for m in self.bot.fake.thread(SLACK_CHANNEL, self.cards[handoff_id]) if "Still waiting" in m["text"]]
        return nudges[-1] if nudges else None

    def nudge_buttons(self, handoff_id: str) -> list[tuple[str, str]]:
        """(label, handoff id) of each button (each option of a menu) under the latest nudge."""
        elements = [e for b in self.nudge_of(handoff_id)["blocks"] if b["type"] == "actions" for e in b["elements"]]
        return [(o["text"]["text"], o["value"].partition("|")[0]) if "options" in e else (e["text"]["text"], e["value"])
                for e in elements for o in (e.get("options") or [e])]

    async def press_nudge(self, name: str, verb: str, handoff_id: str, *, choice: str | None = None) -> None:
        """A click on the latest nudge's button (with `choice`, that option of its Snooze menu)."""
        nudge = self.nudge_of(handoff_id)
        [element] = [e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"]
                     if e["action_id"] == f"handoff_{verb}"]
        option = next((o for o in element.get("options", []) if o["value"].endswith(f"|{choice}")), None)
        answer = await self.bot.press(self.actor(name), verb, element.get("value", handoff_id), nudge["ts"],
                                      option=option)
        assert answer.status == 200  # bot.send holds the answer to ANSWER_BOUND_S

    async def said_after(self, name: str, before: int) -> str:
        """What `name` was told privately about their click (their `before`+1-th private message)."""
        return (await self.told_now(name, before + 1))[before]

    async def make(self, name: str, role: str) -> None:
        await self.bot.handoffs.bootstrap_admin(workspace=self.workspace, person=self.key(ADMIN))
        await self.bot.handoffs.set_role(workspace=self.workspace, admin=self.key(ADMIN), person=self.key(name), role=role)


@dataclass
class TeamsDriver(Driver):
    bot: Any
    clock: Clock
    platform: str = "teams"
    users: dict[str, dict] = field(default_factory=dict)
    answers: dict[str, list[dict]] = field(default_factory=dict)  # what each person's clicks were answered
    cards: dict[str, tuple[str, str]] = field(default_factory=dict)  # handoff id -> (conversation, activity id)

    workspace = ACME_TEAMS
    OTHER = "11111111-2222-3333-4444-555555555555"

    def name_of(self, person) -> str:
        return next(name for name, user in self.users.items() if user["aadObjectId"] == person.external_id)

    def form_error(self, message: Message) -> str:
        return escape_markdown(teams_messages.plain_text(message), 400)

    def user(self, name: str) -> dict:
        if name not in self.users:
            user = teams.teams_user(name or f"noname-{len(self.users)}")
            if not name:
                user.pop("name")
            self.users[name] = user
        return self.users[name]

    def key(self, name: str) -> PersonKey:
        return teams.key({**self.user(name), "name": name})

    async def escalate(self, author: str, *, summary: str, target: str | None = None, **more: str) -> str:
        fields = {"summary": summary, **more}
        if target:
            fields["target"] = self.user(target)["aadObjectId"]
        dialog = await teams.open_dialog(self.bot, self.user(author))
        status, body = await self.bot.send(teams.submit(self.user(author), self.bot.fake.service_url, dialog, **fields))
        assert status == 200, body
        if body["task"]["type"] == "continue":
            raise FormError(dialog_errors(body["task"]["value"]["card"]["content"]["body"]))
        await self.bot.drain()
        conversation, activity_id = self.bot.fake.created[-1]
        handoff_id = self.bot.fake.card_of(activity_id)["actions"][0]["data"]["handoff_id"]
        self.cards[handoff_id] = (conversation, activity_id)
        return handoff_id

    async def press(self, name: str, verb: str, handoff_id: str, *, choice: str | None = None,
                    offered: bool = True) -> None:
        """A click; with `choice`, the card's action for that choice (as the card offers it; `offered=False`:
        one the card does not offer, as an older card would send it)."""
        conversation, activity_id = self.cards.get(handoff_id, (f"{teams.CHANNEL};messageid=1", ""))
        data = {}
        if choice is not None and not offered:
            data = {"choice": choice}
        elif choice is not None:
            [action] = [a for a in self.bot.fake.card_of(activity_id)["actions"]
                        if a["verb"] == verb and a["data"].get("choice") == choice]
            data = {"choice": action["data"]["choice"]}
        status, body = await self.bot.send(teams.card_action(verb, handoff_id, sender=self.user(name),
                                                             service_url=self.bot.fake.service_url,
                                                             conversation_id=conversation, **data))
        assert status == 200 and body["statusCode"] == 200, body
        self.answers.setdefault(name, []).append(body)

    def told(self, name: str) -> list[str]:
        return [a["value"] for a in self.answers.get(name, []) if isinstance(a["value"], str)]

    async def told_now(self, name: str, count: int) -> list[str]:
        return self.told(name)

    def answered_card(self, name: str) -> str | None:
        cards = [a["value"] for a in self.answers.get(name, []) if isinstance(a["value"], dict)]
        return teams_card_text(cards[-1]) if cards else None

    async def settle(self) -> None:
        await self.bot.drain()

    def private(self, message: Message) -> str:
        return teams_messages.plain_text(message)

    def in_thread(self, message: Message) -> str:
        return teams_messages.chat(message).text

    def thread(self, handoff_id: str) -> list[str]:
        conversation, activity_id = self.cards[handoff_id]
        return [reply_text(c.body) for c in self.bot.fake.of_kind("reply")
                if c.conversation_id == conversation and c.activity_id == activity_id]

    def card(self, handoff_id: str) -> str:
        """Every text block and fact of the card as everyone sees it."""
        card = self.bot.fake.card_of(self.cards[handoff_id][1])
        facts = [f"{f['title']}: {f['value']}" for b in card["body"] if b.get("type") == "FactSet" for f in b["facts"]]
        return "\n".join([teams_card_text(card), *facts]).replace("**", "")

    def lines(self, handoff_id: str) -> dict[str, str]:
        """The card's status and assessment lines as read (a name in bold shows as the name)."""
        return teams_lines(self.bot.fake.card_of(self.cards[handoff_id][1]))

    def shown_name(self, person: PersonView) -> str:
        return person.name

    def everything_sent(self) -> str:
        return json.dumps([c.body for c in self.bot.fake.calls], ensure_ascii=False)

    def nudge_of(self, handoff_id: str) -> tuple[str, dict] | None:
        found = [(activity_id, a["content"]) for activity_id, body in self.bot.fake.messages.items()
                 for a in body.get("attachments") or []
                 if any(x["data"].get(teams_messages.MESSAGE_FIELD) == "reminder.nudge"
                        and x["data"].get("handoff_id") == handoff_id for x in a["content"].get("actions", []))]
        return found[-1] if found else None

    def nudge_buttons(self, handoff_id: str) -> list[tuple[str, str]]:
        return [(a["title"], a["data"]["handoff_id"]) for a in self.nudge_of(handoff_id)[1]["actions"]]

    async def press_nudge(self, name: str, verb: str, handoff_id: str, *, choice: str | None = None) -> None:
        """A click on the latest nudge's action, as Teams sends it: in the card's thread, `replyToId` the nudge."""
        nudge_id, card = self.nudge_of(handoff_id)
        [action] = [a for a in card["actions"] if a["verb"] == verb and a["data"].get("choice") == choice]
        data = {k: v for k, v in action["data"].items() if k != "handoff_id"}
        status, body = await self.bot.send(teams.card_action(verb, action["data"]["handoff_id"], sender=self.user(name),
                                                             service_url=self.bot.fake.service_url,
                                                             conversation_id=self.cards[handoff_id][0],
                                                             message_id=nudge_id, **data))
        assert status == 200 and body["statusCode"] == 200, body
        self.answers.setdefault(name, []).append(body)

    async def said_after(self, name: str, before: int) -> str:
        """What Teams answered `name`'s last click: a message, or what took the clicked message's place."""
        value = self.answers[name][-1]["value"]
        return value if isinstance(value, str) else teams_card_text(value).replace("**", "")

    async def make(self, name: str, role: str) -> None:
        await self.bot.handoffs.bootstrap_admin(workspace=self.workspace, person=self.key(ADMIN))
        await self.bot.handoffs.set_role(workspace=self.workspace, admin=self.key(ADMIN), person=self.key(name), role=role)


def dialog_errors(form: list[dict]) -> dict[str, str]:
    """The errors a Teams dialog shows, each keyed by the input it sits under (the notice on top is not one)."""
    errors: dict[str, str] = {}
    field = ""
    for block in form:
        if block.get("id"):
            field = block["id"]
        elif block.get("color") == "Attention" and block.get("weight") != "Bolder":
            errors[field] = f"{errors[field]} {block['text']}" if field in errors else block["text"]
    return errors


@asynccontextmanager
async def driver(platform: str, pg_db, pg_url, **settings):
    """`settings`: Settings keywords for the bot (e.g. a PSA connection). The service's clock is real time
    plus whatever a step skips ahead (Driver.later), so every retry and pace still falls due."""
    clock = Clock()
    if platform == "slack":
        async with running_bot(pg_url, clock=clock, **settings) as bot:
            yield SlackDriver(bot, clock)
    else:
        handoffs = Handoffs(pg_db, clock=clock, observers=(PSA_NOTE,))
        async with teams.teams_bot(pg_db, handoffs=handoffs, **settings) as bot:
            await teams.use_this_channel(bot, teams.teams_user(ADMIN))
            yield TeamsDriver(bot, clock)


def new_id() -> str:
    return str(uuid.uuid4())
