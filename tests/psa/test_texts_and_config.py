"""Note texts, reference forms and connection settings: pure parts, table-driven."""

from __future__ import annotations

import aiohttp
import pytest

from bot.config import Settings
from psa import notes
from cards.psa_messages import ticket_problem
from cards.slack_messages import plain_text
from core.psa_form import TicketProblem
from psa.client import BadRef, TicketRef
from psa.connection import ConfigError, PsaConnection, Vault, from_environment
from tests.psa.notes_rig import KEY
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig


@pytest.mark.parametrize("seconds, shown", [(None, "not recorded"), (12, "less than a minute"),
                                            (240, "4 minutes"), (3900, "1 hour 5 minutes")])
def test_durations(seconds, shown):
    assert notes.duration(seconds) == shown


def test_fit_cuts_with_an_ellipsis_and_keeps_the_marker():
    mark = notes.marker("h", "escalated", 1)
    assert notes.fit("short", mark, 100) == f"short\n\n{mark}"
    cut = notes.fit("x" * 500, mark, 100)
    assert len(cut) == 100 and cut.endswith(f"…\n\n{mark}")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_note_above_the_psas_limit_is_cut_not_rejected(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = rig.connection().client(session, timeout_s=2, cache={})
        mark = notes.marker("h", "escalated", 1)
        await client.add_note(str(TICKET_ID), notes.fit("Escalated\n" + "y" * 60_000, mark, client.note_limit))
        [written] = rig.fake.notes(TICKET_ID)
        assert len(written) == client.note_limit and written.endswith(f"…\n\n{mark}")
        assert rig.fake.violations == []


@pytest.mark.parametrize("vendor, text, ref", [
    ("connectwise", "123456", TicketRef("id", "123456")),
    ("connectwise", " #42 ", TicketRef("id", "42")),
    ("halo", "0042", TicketRef("id", "42")),
    ("autotask", "T20261123.0042", TicketRef("number", "T20261123.0042")),
    ("autotask", "t20261123.0042", TicketRef("number", "T20261123.0042")),
    ("autotask", "88123", TicketRef("id", "88123")),
])
async def test_each_psas_own_reference_forms(vendor, text, ref):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        assert rig.connection().client(session, timeout_s=1, cache={}).parse_ref(text) == ref


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("text", ["12 34", "INC-42", "1" * 200, "T2026.42", "0"])
async def test_bad_references_say_what_the_psa_expects(vendor, text):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        result = rig.connection().client(session, timeout_s=1, cache={}).parse_ref(text)
        assert isinstance(result, BadRef)
        said = plain_text(ticket_problem(TicketProblem("bad_form", vendor, text, max_digits=result.max_digits)))
        assert "digits only, like 123456 (at most 10 digits)" in said or "T20261123.0042" in said


def test_environment_connection_names_missing_settings_not_values():
    with pytest.raises(ConfigError, match="HANDOFF_PSA_PRIVATE_KEY"):
        from_environment({"HANDOFF_PSA": "connectwise", "HANDOFF_PSA_URL": "https://x", "HANDOFF_PSA_COMPANY": "c",
                          "HANDOFF_PSA_PUBLIC_KEY": "p", "HANDOFF_PSA_CLIENT_ID": "id"})
    with pytest.raises(ConfigError, match="one of connectwise, autotask, halo"):
        from_environment({"HANDOFF_PSA": "servicenow"})
    assert from_environment({}) is None


def test_settings_read_psa_variables_and_hide_secrets(monkeypatch):
    monkeypatch.setenv("HANDOFF_PSA", "halo")
    monkeypatch.setenv("HANDOFF_PSA_CLIENT_SECRET", "halo-S3CRET")
    settings = Settings()
    assert "halo-S3CRET" not in repr(settings)
    assert settings.psa_environment()["HANDOFF_PSA_CLIENT_SECRET"] == "halo-S3CRET"


def test_vault_seals_secrets_and_refuses_another_key():
    connection = PsaConnection("halo", {"url": "https://h/api", "auth_url": "https://h/auth", "client_id": "c"},
                               {"client_secret": "halo-S3CRET"})
    sealed = Vault(KEY).seal(connection)
    assert "halo-S3CRET" not in repr(sealed) and "halo-S3CRET" not in repr(connection)
    assert Vault(KEY).open(sealed) == connection
    other = "not-a-key"
    with pytest.raises(ConfigError, match="not a Fernet key"):
        Vault(other)
    from cryptography.fernet import Fernet
    with pytest.raises(ConfigError, match="cannot be read"):
        Vault(Fernet.generate_key().decode()).open(sealed)
    with pytest.raises(ConfigError, match="HANDOFF_SECRET_KEY is not set"):
        Vault(None)


def test_the_environment_connection_is_for_single_workspace_installs_only():
    from bot.services import build_services

    psa = dict(psa="halo", psa_url="https://acme.halopsa.example/api", psa_auth_url="https://acme.halopsa.example/auth",
               psa_client_id="c", psa_client_secret="s3cret")
    single = build_services(Settings(slack_bot_token="xoxb-1", slack_signing_secret="x", **psa))
    many = build_services(Settings(slack_client_id="1.2", slack_client_secret="cs", slack_signing_secret="x", **psa))
    assert single.psa.directory.default is not None and single.psa.directory.default.kind == "halo"
    assert many.psa.directory.default is None  # one PSA must not receive every workspace's notes


@pytest.mark.parametrize("value, on", [(None, False), ("true", True), ("false", False), ("1", True), ("off", False)])
def test_assign_is_opt_in(monkeypatch, value, on):
    from bot.services import build_services

    if value is not None:
        monkeypatch.setenv("HANDOFF_PSA_ASSIGN", value)
    settings = Settings(slack_bot_token="xoxb-1", slack_signing_secret="x", psa="halo", psa_url="https://h.example/api",
                        psa_auth_url="https://h.example/auth", psa_client_id="c", psa_client_secret="s3cret")
    assert settings.psa_assign is on
    assert "HANDOFF_PSA_ASSIGN" not in settings.psa_environment()  # a switch, not part of the connection
    services = build_services(settings)
    assert services.psa.directory.assign is on  # the default where a workspace did not switch it
    assert "psa.assign" in services.job_kinds()  # registered either way: a queued assignment always has a runner


def test_a_malformed_assign_value_stops_the_command_with_one_line():
    from tests.bot.test_cli import run_handoff

    result = run_handoff("db", "upgrade", env={"HANDOFF_PSA_ASSIGN": "sometimes"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HANDOFF_PSA_ASSIGN" in lines[0] and "boolean" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("source, first_line", [
    ("model", "Assessment (model: claude-x, confidence high)"),
    ("heuristic", "Assessment (fallback, not from the model)"),
])
def test_the_assessment_note_uses_the_cards_words(source, first_line):
    """The note is plain text, but labels what the card labels with the card's words (the same on the card)."""
    from cards.slack import card_message
    from cards.view import build_card_view
    from tests.cards.test_slack import T0, all_text, state

    data = {"source": source, "model": "claude-x", "summary": "Connector cert expired", "confidence": "high",
            "likely_causes": ["Expired TLS cert"], "next_steps": ["Renew the cert", "Re-test mail flow"]}
    handoff = state(assessment=data, assessment_state="ready")
    note = notes.assessment(handoff)
    assert note.splitlines()[0] == first_line
    assert "Summary:\nConnector cert expired" in note
    assert "Likely causes:\n1. Expired TLS cert" in note
    assert "Suggested next steps:\n1. Renew the cert\n2. Re-test mail flow" in note
    card = "\n".join(t for _, t in all_text(card_message(build_card_view(handoff, now=T0))["blocks"]))
    for label in ("Summary", "Likely causes", "Suggested next steps", "confidence high",
                  first_line.split(" (")[0] if source == "model" else first_line):
        assert label in card, label


def test_the_escalation_note_labels_the_fields_as_the_form_and_the_card_do():
    from tests.cards.test_slack import state

    note = notes.escalation(state(), actor="Jamie")
    assert "Problem summary:\nFinance mailbox rejects external mail" in note
    assert "What I've tried:\nRestarted transport" in note
