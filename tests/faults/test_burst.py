"""A burst of 40 escalations into two replicas while Slack, the model, a replica and PostgreSQL fail.

Slack answers 20 % of posts and edits with 429 + Retry-After, 5 % with errors, and loses a few answers
after recording the message; the model sometimes hangs or answers 529. During the burst PostgreSQL
restarts once and one replica is killed with SIGKILL and started again. Users whose submission failed
read the error in the modal and send it again. Then ten cards are raced by five seniors each.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from standins.slack.requests import Actor
from tests.fakes.anthropic import FakeAnthropic, assessment, hang, overloaded
from tests.fakes.slack_faults import SlackFaults
from tests.faults.rig import CHANNEL, Rig, max_in_window

ESCALATIONS = 40
RACED = 10
CLICKERS = 5
JOB_LEASE_S = 10.0  # HANDOFF_JOB_LEASE_S (the default): a killed replica's jobs are anyone's within this long
TAKEOVER_S = 60.0  # ... and taken and finished within this long, even on a loaded 2-core machine (about 20 s idle)
CHANNEL_WINDOW_S, CHANNEL_MAX = 10.0, 10 + 5  # Slack: about 1 post per second per channel, short bursts


def flaky_model(seed: int = 7) -> FakeAnthropic:
    rng = random.Random(seed)
    answers = [hang() if r < 0.1 else overloaded() if r < 0.25 else assessment()
               for r in (rng.random() for _ in range(200))]
    return FakeAnthropic().script(*answers)


async def _held_jobs(rig: Rig, pid: int) -> int:
    rows = await rig.query("SELECT count(*) AS n FROM jobs WHERE state = 'running' AND lease_owner LIKE $1",
                           f"%:{pid}:%")
    return rows[0]["n"]


async def _kill_while_busy(rig: Rig) -> dict:
    """SIGKILL replica 1 once it holds a running job (or after 5 s). Returns when (monotonic and the
    database's clock), its pid, and the ids of the jobs it held (read once it is dead, so exact)."""
    victim = rig.replicas[1]
    pid = victim.process.pid
    for _ in range(50):
        try:
            if await _held_jobs(rig, pid):
                break
        except OSError:
            pass
        await asyncio.sleep(0.1)
    victim.kill()
    killed_at = time.monotonic()
    [row] = await rig.query("SELECT now() AT TIME ZONE 'UTC' AS now")
    await victim.wait(10)
    held = await rig.query("SELECT id, kind, attempts, lease_until FROM jobs WHERE state = 'running' "
                           "AND lease_owner LIKE $1", f"%:{pid}:%")
    return {"killed_at": killed_at, "killed_at_db": row["now"], "pid": pid, "held": [dict(r) for r in held]}


async def _taken_over(rig: Rig, pid: int, killed_at: float, timeout_s: float) -> float:
    """Seconds from the kill until no job is still leased by the dead process."""
    deadline = killed_at + timeout_s + 30
    while time.monotonic() < deadline:
        try:
            if await _held_jobs(rig, pid) == 0:
                return time.monotonic() - killed_at
        except OSError:
            pass
        await asyncio.sleep(0.2)
    return float("inf")


async def _chaos(rig: Rig) -> dict:
    """PostgreSQL restarts once, then a replica is killed mid-job and started again."""
    await asyncio.sleep(1.0)
    await asyncio.to_thread(rig.cluster.stop)
    await asyncio.sleep(1.5)  # refusing connections meanwhile
    await asyncio.to_thread(rig.cluster.start)
    await asyncio.sleep(1.0)
    kill = await _kill_while_busy(rig)
    await asyncio.sleep(1.0)
    await rig.replicas[1].start(rig.session)
    kill["takeover_s"] = await _taken_over(rig, kill["pid"], kill["killed_at"], TAKEOVER_S)
    return kill


async def _held_jobs_finished(rig: Rig, kill: dict) -> list[dict]:
    """What became of each job the killed replica held: finished how long after the kill; whether its last
    wait was for the channel's turn (a post queued behind the burst's other posts); whether it failed again
    after the takeover (an injected Slack or model fault: more than the one try the takeover spends)."""
    at_kill = {j["id"]: j["attempts"] for j in kill["held"]}
    rows = await rig.query("SELECT id, kind, state, attempts, updated_at, last_error FROM jobs WHERE id = ANY($1::bigint[])",
                           list(at_kill))
    return [{"id": r["id"], "kind": r["kind"], "state": r["state"], "attempts": r["attempts"],
             "finished_s": round((r["updated_at"] - kill["killed_at_db"]).total_seconds(), 1),
             "paced": "pacing posts to" in (r["last_error"] or ""),
             "failed_again": r["attempts"] - at_kill[r["id"]] > 1} for r in rows]


async def test_burst_through_faults_loses_nothing_and_duplicates_nothing(tmp_path):
    async with Rig(tmp_path, slack_faults=SlackFaults(), model=flaky_model()) as rig:
        authors = [Actor(f"U-AUTHOR-{i:02d}", f"Author {i}", channel_id=CHANNEL) for i in range(ESCALATIONS)]

        async def escalate(i: int, author: Actor):
            await asyncio.sleep(i * 0.15)
            return await rig.submit(author, summary=f"Escalation {i}: finance mailbox rejects external mail")

        started = time.monotonic()
        chaos = asyncio.create_task(_chaos(rig))
        submitted = await asyncio.gather(*(escalate(i, a) for i, a in enumerate(authors)))
        faults = await chaos
        print(f"burst submitted in {time.monotonic() - started:.1f}s")

        rows = await rig.query("SELECT id, idempotency_key FROM handoffs ORDER BY escalated_at")
        by_view = {r["idempotency_key"]: str(r["id"]) for r in rows}
        assert len(rows) == ESCALATIONS, f"{len(rows)} handoffs for {ESCALATIONS} accepted escalations"
        assert {f"view:{s.view_id}" for s in submitted} == set(by_view)

        # Races on ten cards once they are posted: five seniors each, at once.
        raced = [by_view[f"view:{s.view_id}"] for s in submitted[:RACED]]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(h in rig.cards() for h in raced):
            await asyncio.sleep(0.2)
        seniors = [Actor(f"U-SENIOR-{i}", f"Senior {i}", channel_id=CHANNEL) for i in range(CLICKERS)]
        print(f"raced cards posted at {time.monotonic() - started:.1f}s")
        cards = rig.cards()
        await asyncio.gather(*(rig.pick_up(s, handoff_id=h, message_ts=cards[h][0]["ts"]) for h in raced for s in seniors))

        settled_at = await rig.settled(timeout_s=150)
        held = await _held_jobs_finished(rig, faults)
        posts = [c.at for c in rig.slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]
        report = {"told_to_retry": sum(s.told_to_retry for s in submitted), "faults": dict(rig.faults.injected),
                  "held_at_kill": held, "takeover_s": round(faults["takeover_s"], 1),
                  "settled_after_kill_s": round(settled_at - faults["killed_at"], 1),
                  "channel_posts": len(posts), "channel_posts_span_s": round(max(posts) - min(posts), 1),
                  "setup": rig.timings}
        print("fault run:", json.dumps(report, default=str))

        await _assert_one_card_each_in_its_final_state(rig, list(by_view.values()))
        await _assert_races(rig, raced, seniors)
        busiest = max_in_window(posts, CHANNEL_WINDOW_S)
        assert busiest <= CHANNEL_MAX, f"{busiest} posts to {CHANNEL} in one {CHANNEL_WINDOW_S:.0f} s window"
        # The kill's cost: every job the dead replica held is someone else's within the lease, and finished within
        # TAKEOVER_S of the kill, unless after the takeover it waited for the channel's turn behind the burst's
        # other posts or failed again on an injected fault (Slack's pace and those faults' backoff bound
        # those, not the kill; the whole burst settles at the channel's pace: see the report).
        assert held, "the killed replica held no job: the scenario tested nothing"
        # Anyone's within the lease: read from the database, so exact however loaded the machine is. Who takes
        # them, and when, depends on a worker loop coming free (a loaded machine stretched it to 22 s once).
        lease_left = max((j["lease_until"] - faults["killed_at_db"]).total_seconds() for j in faults["held"])
        assert lease_left <= JOB_LEASE_S, f"the dead replica's jobs stayed leased {lease_left:.1f}s past its death"
        assert faults["takeover_s"] <= TAKEOVER_S, f"killed replica's jobs taken over after {faults['takeover_s']:.1f}s"
        # Finished: done, or failed for good where that is the job's designed end (an assessment out of tries
        # leaves the labelled fallback on the card, checked above with every card's final state).
        assert all(j["state"] in ("done", "failed") for j in held), held
        late = [j for j in held if j["finished_s"] > TAKEOVER_S and not (j["paced"] or j["failed_again"])]
        assert not late, f"held jobs finished more than {TAKEOVER_S:.0f}s after the kill: {late}"


async def _assert_one_card_each_in_its_final_state(rig: Rig, handoff_ids: list[str]) -> None:
    cards = rig.cards()
    doubles = {h: len(cards.get(h, [])) for h in handoff_ids if len(cards.get(h, [])) != 1}
    assert not doubles, f"handoffs without exactly one card: {doubles}"
    rows = await rig.query(
        "SELECT h.id, h.version, h.assessment_state, c.rendered_version, c.message_ref "
        "FROM handoffs h JOIN cards c ON c.handoff_id = h.id")
    for row in rows:
        [message] = cards[str(row["id"])]
        shown = json.dumps(message.get("blocks") or [])
        assert row["assessment_state"] != "pending", f"{row['id']}: assessment still pending"
        assert row["rendered_version"] == row["version"] and row["message_ref"] == message["ts"], dict(row)
        assert "Assessing" not in shown and ("Assessment" in shown), f"{row['id']}: card shows no assessment"


async def _assert_races(rig: Rig, raced: list[str], seniors: list[Actor]) -> None:
    names = {s.user_id: s.name for s in seniors}
    for handoff_id in raced:
        [row] = await rig.query(
            "SELECT p.external_id FROM handoffs h JOIN people p ON p.id = h.claimed_by WHERE h.id = $1::uuid", handoff_id)
        owner = row["external_id"]
        assert owner in names, f"{handoff_id}: owned by {owner}"
        conflicts = await rig.query(
            "SELECT p.external_id FROM events e JOIN people p ON p.id = e.actor_id "
            "WHERE e.handoff_id = $1::uuid AND e.kind = 'conflict'", handoff_id)
        assert sorted(r["external_id"] for r in conflicts) == sorted(set(names) - {owner})
        [card] = rig.cards()[handoff_id]
        replies = [json.dumps(m) for m in rig.slack.thread(CHANNEL, card["ts"])]
        for loser in set(names) - {owner}:
            # Slack shows a person by their display name (the stand-in's is the user name, lower case).
            records = [r for r in replies if "tried to pick this up too" in r and names[loser].lower() in r.lower()]
            assert len(records) == 1, f"{handoff_id}: {len(records)} conflict records for {names[loser]}: {replies}"
