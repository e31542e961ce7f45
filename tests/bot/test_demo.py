"""`handoff demo` runs the whole flow and tells the story of it."""

from bot.cli import main


def test_demo_prints_each_persons_view_and_the_final_card(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "types `/escalate Finance mailbox rejects external mail`" in out
    assert "#escalations: Handoff posts the card" in out and "[ Pick Up ]" in out
    assert "gets a DM: ✅ Your escalation Finance mailbox rejects external mail is posted in #escalations" in out
    assert out.count("tried to pick this up too: already claimed by") == 1
    assert "picked this up. Your checklist:" in out
    final = out.split("The final card in #escalations", 1)[1]
    assert "✅ Picked up by @" in final and "[ Release ]  [ Resolve ]" in final
    assert final.count("Picked up by") == 1, "one owner on the final card"
    assert "time to first action:" in out
    assert "https://app.slack.com/block-kit-builder/#%7B%22blocks%22" in out


def test_teams_demo_plays_the_dialog_the_race_and_ends_with_one_owner(capsys):
    assert main(["demo", "--teams"]) == 0
    out = capsys.readouterr().out
    assert "Jamie's dialog: Escalate to a senior" in out and "Problem summary: []" in out
    assert "#escalations: Handoff posts the card" in out and "[ Pick Up ]" in out
    assert "Not from the model: no Anthropic API key is configured" in out  # the assessment, edited in
    views = {who: out.split(f"What {who} sees on the card", 1)[1].split("└", 1)[0] for who in ("Dana", "Carol")}
    owners = [who for who, view in views.items() if "[ Release ]  [ Resolve ]" in view]
    assert len(owners) == 1, "exactly one of the two who raced owns it"
    [owner] = owners
    loser = next(who for who in views if who != owner)
    [conflict] = [line for line in out.splitlines() if "already claimed by" in line.lower()]
    assert loser in conflict and f"already claimed by {owner}" in conflict.lower().replace(owner.lower(), owner)
    final = out.split("The final card in #escalations", 1)[1]
    assert final.count("✅ Picked up by") == 1 and f"✅ Picked up by {owner}" in final
    assert "[ Pick Up ]" not in final
