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
    assert "time to first action:" in out
    assert "https://app.slack.com/block-kit-builder/#%7B%22blocks%22" in out
