"""The PSA connection form's rules: codes, not words (cards/psa_messages.py says them)."""

from __future__ import annotations

import pytest

from core.psa_form import (
    NOT_A_URL, NOT_HTTPS, REQUIRED, TOO_LONG, UNKNOWN_KIND, FormProblems, PsaForm, check_form, hidden_fields,
)

CW = {"url": "https://na.myconnectwise.net/v4_6_release/apis/3.0/", "company": " acme ", "public_key": "pub",
      "private_key": "  pr1v ate  ", "client_id": "guid"}


def test_a_complete_form_splits_settings_from_secrets():
    form = check_form("ConnectWise", CW)
    assert form == PsaForm("connectwise", {"url": "https://na.myconnectwise.net/v4_6_release/apis/3.0",
                                           "company": "acme", "public_key": "pub", "client_id": "guid"},
                           {"private_key": "pr1v ate"})
    assert "pr1v" not in repr(form), "secrets stay out of repr (logs)"


@pytest.mark.parametrize(("changes", "problems"), [
    ({"company": ""}, {"company": REQUIRED}),
    ({"url": "http://psa.example.com"}, {"url": NOT_HTTPS}),
    ({"url": "psa.example.com"}, {"url": NOT_A_URL}),
    ({"url": "https://exa mple.com"}, {"url": NOT_A_URL}),
    ({"private_key": "x" * 501}, {"private_key": TOO_LONG}),
    ({"private_key": "", "url": "ftp://x"}, {"private_key": REQUIRED, "url": NOT_A_URL}),
])
def test_problems_are_codes_per_field(changes, problems):
    assert check_form("connectwise", {**CW, **changes}) == FormProblems(problems)


def test_plain_http_only_to_this_machine():
    for url in ("http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]:9/api"):
        assert isinstance(check_form("connectwise", {**CW, "url": url}), PsaForm), url


def test_a_blank_secret_keeps_the_saved_one_of_the_same_psa_only():
    saved = {"private_key": "old-secret"}
    assert check_form("connectwise", {**CW, "private_key": ""}, saved=saved).secrets == {"private_key": "old-secret"}
    assert check_form("connectwise", {**CW, "private_key": "new"}, saved=saved).secrets == {"private_key": "new"}
    assert check_form("halo", {"url": "https://h/api", "auth_url": "https://h/auth", "client_id": "c"}) == \
        FormProblems({"client_secret": REQUIRED})


def test_autotask_optional_fields_and_its_secret_tracking_code():
    form = check_form("autotask", {"username": "api@x.com", "secret": "s", "integration_code": "CODE"})
    assert isinstance(form, PsaForm) and form.settings == {"username": "api@x.com"}
    assert form.secrets == {"secret": "s", "integration_code": "CODE"}  # sealed together (psa/connection.Vault)
    assert "integration_code" in hidden_fields("autotask")
    assert check_form("autotask", {"username": "api@x.com", "secret": "s"}) == FormProblems({"integration_code": REQUIRED})


def test_an_unknown_psa():
    assert check_form("servicenow", CW) == FormProblems({"kind": UNKNOWN_KIND})
