"""The rules of a workspace's PSA connection form, and the values admins' actions come back as. Pure.

Which PSAs there are, which settings each needs, which are secret (never shown again once saved), which
are URLs; what an admin typed checked against that, answered with codes (cards/psa_messages.py says them).
The PSA clients (psa/) read FIELDS and OPTIONAL from here; nothing here talks to a PSA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

KINDS = ("connectwise", "autotask", "halo")
# Which settings each PSA needs: (plain fields, secret fields). Optional ones are listed in OPTIONAL.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "connectwise": (("url", "company", "public_key", "client_id"), ("private_key",)),
    # Autotask's tracking identifier (ApiIntegrationCode) is a credential too: encrypted with the secret.
    "autotask": (("username", "url", "discovery_url"), ("secret", "integration_code")),
    "halo": (("url", "auth_url", "client_id", "tenant"), ("client_secret",)),
}
OPTIONAL = {"autotask": {"url", "discovery_url"}, "halo": {"tenant"}}
URL_FIELDS = frozenset({"url", "auth_url", "discovery_url"})
ASSIGN = "assign"  # the form's switch (not a connection setting): assign the ticket to the senior on pick-up
MAX_CHARS = 500

# Problem codes: a field's value, or the form as a whole.
REQUIRED, NOT_A_URL, NOT_HTTPS, TOO_LONG = "required", "not_a_url", "not_https", "too_long"
UNKNOWN_KIND = "unknown_kind"


# The form's order where it is not the plain settings then the secrets (Autotask's code beside its user).
FORM_ORDER = {"autotask": ("username", "integration_code", "url", "discovery_url", "secret")}


def fields_of(kind: str) -> tuple[str, ...]:
    plain, secret = FIELDS[kind]
    return FORM_ORDER.get(kind, (*plain, *secret))


def hidden_fields(kind: str) -> frozenset[str]:
    """Fields whose saved value is never sent back to a screen: 'saved — leave blank to keep'."""
    return frozenset(FIELDS[kind][1])


def is_required(kind: str, name: str) -> bool:
    return name not in OPTIONAL.get(kind, set())


@dataclass(frozen=True)
class PsaForm:
    """A valid form: what to store (secrets apart, to be encrypted)."""

    kind: str
    settings: dict[str, str]
    secrets: dict[str, str] = field(repr=False)
    assign: bool | None = None  # the ticket's owner set to the senior who picks it up; None: the server's default


@dataclass(frozen=True)
class FormProblems:
    """field -> problem code (REQUIRED, NOT_A_URL, ...); the field "kind" for UNKNOWN_KIND."""

    problems: dict[str, str]


def url_problem(value: str) -> str | None:
    """https with a host; plain http only to this machine (local stand-ins and tests)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or " " in value:
        return NOT_A_URL
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return NOT_HTTPS
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_form(kind: str, typed: dict[str, str], *, saved: dict[str, str] | None = None) -> PsaForm | FormProblems:
    """What an admin typed for `kind`. `saved`: the stored connection's values when it is of the same kind,
    so a hidden field left blank keeps its saved value."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        return FormProblems({"kind": UNKNOWN_KIND})
    saved = saved or {}
    plain, secret = FIELDS[kind]
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in (*plain, *secret):
        value = " ".join(str(typed.get(name) or "").split()) if name not in secret else str(typed.get(name) or "").strip()
        if not value and name in hidden_fields(kind):
            value = saved.get(name, "")
        if not value:
            if is_required(kind, name):
                problems[name] = REQUIRED
            continue
        if len(value) > MAX_CHARS:
            problems[name] = TOO_LONG
        elif name in URL_FIELDS and (problem := url_problem(value)):
            problems[name] = problem
        values[name] = value.rstrip("/") if name in URL_FIELDS else value
    if problems:
        return FormProblems(problems)
    return PsaForm(kind, {n: values[n] for n in plain if n in values}, {n: values[n] for n in secret if n in values},
                   assign=_switch(typed.get(ASSIGN)))


def _switch(value: str | None) -> bool | None:
    """A checkbox / toggle as the form sends it: "true" / "false"; absent (an older form): None."""
    value = (value or "").strip().lower()
    return True if value == "true" else False if value == "false" else None


# --- what the settings show, and what admins' actions come back as --------------------------------


@dataclass(frozen=True)
class PsaStatus:
    """The connection a workspace uses, as admins may see it: never a secret."""

    kind: str | None  # None: no PSA connection
    where: str = ""  # the API URL, or "" when Autotask discovers the zone
    source: str = "none"  # "stored" (this workspace's own) | "environment" | "none" | "unreadable"
    values: dict[str, str] = field(default_factory=dict)  # saved settings that may be shown (not hidden ones)
    saved_hidden: frozenset[str] = frozenset()  # hidden fields with a saved value
    assign: bool = False  # pick-up makes the senior the ticket's owner (the workspace's choice, else HANDOFF_PSA_ASSIGN)
    assign_chosen: bool = False  # the workspace chose `assign` (else it is the server's default)


@dataclass(frozen=True)
class PsaSaved:
    status: PsaStatus


@dataclass(frozen=True)
class AssignSet:
    """The workspace's ticket-owner switch saved (whichever connection applies, credentials untouched)."""

    status: PsaStatus


@dataclass(frozen=True)
class PsaRemoved:
    had_one: bool
    status: PsaStatus  # what applies now (the environment's, or none)


@dataclass(frozen=True)
class NoSecretKey:
    """HANDOFF_SECRET_KEY is not set (or not a key): nothing is stored in plain text."""


@dataclass(frozen=True)
class PsaTestResult:
    """works | rejected (status: 401/403) | refused (the PSA said no otherwise; `detail`, secret-free) |
    unreachable | none (nothing to test) | unreadable (stored under another HANDOFF_SECRET_KEY)."""

    outcome: str
    kind: str = ""
    status: int | None = None
    detail: str = ""


# Why a call to a PSA failed: psa/ raises these codes with their facts (a PsaProblem); cards/psa_messages.py
# says them. The PSA could not answer now (the job tries again later):
CONNECT_FAILED, TIMED_OUT, DROPPED, BUSY = "connect_failed", "timed_out", "dropped", "busy"
# It said no in a way retrying cannot change:
REJECTED, NO_SUCH, REDIRECTED, HTML_PAGE, NOT_JSON, REFUSED = (
    "rejected", "no_such", "redirected", "html_page", "not_json", "refused")
NO_ZONE, NO_TOKEN, NOT_ITS_REFERENCE, NO_TICKET = "no_zone", "no_token", "not_its_reference", "no_ticket"


@dataclass(frozen=True)
class PsaProblem:
    """Why a call to a PSA failed, as a code and its facts; never a secret (vendor messages come redacted)."""

    vendor: str  # "ConnectWise", "Autotask", "Halo"
    reason: str  # one of the codes above
    status: int | None = None  # the HTTP status it answered
    what: str = ""  # what was asked for: "ticket", "token", "API user"
    detail: str = ""  # the vendor's own message, the ticket reference, the connection error's name
    seconds: float | None = None  # TIMED_OUT: how long Handoff waited


@dataclass(frozen=True)
class TicketProblem:
    """Why the escalate form's ticket reference cannot be used (the field's error, said by cards):
    "bad_form" (not this PSA's form of reference), "not_found", or "closed" (with its number and title)."""

    reason: str
    kind: str  # the workspace's PSA
    reference: str
    number: str = ""
    title: str = ""
    max_digits: int = 10
