"""What Handoff says about PSA connections and tickets, for both platforms. Pure; see cards/messages.py.

The settings' words (each PSA's field labels, the form's errors, saved / removed / tested) and the escalate
form's ticket-field errors. The rules that decide them are core/psa_form.py; the values come from psa/.
No view here is ever given a secret: PsaStatus and PsaTestResult hold none.
"""

from __future__ import annotations

from cards.messages import Hint, Message, Strong, _say
from core.psa_form import (
    BUSY, DROPPED, HTML_PAGE, MAX_CHARS, NO_SUCH, NO_TICKET, NO_TOKEN, NO_ZONE, NOT_A_URL, NOT_HTTPS, NOT_ITS_REFERENCE,
    NOT_JSON, REDIRECTED, REFUSED, REJECTED, REQUIRED, TIMED_OUT, TOO_LONG, UNKNOWN_KIND, UNREADABLE, PsaProblem,
    PsaRemoved,
    PsaStatus, PsaTestResult, TicketProblem,
)

# The PSA as the settings name it, and as its own errors and tickets name it.
KIND_LABELS = {"connectwise": "ConnectWise PSA", "autotask": "Autotask PSA", "halo": "HaloPSA"}
VENDORS = {"connectwise": "ConnectWise", "autotask": "Autotask", "halo": "Halo"}
SECRET_SAVED = "saved — leave blank to keep"
ASSIGN_HEADING = "Ticket owner"  # the switch's heading where the platform shows one (Slack's input label)
ASSIGN_LABEL = "Assign the ticket to the senior who picks it up"
ASSIGN_HINT = "They become the ticket's owner when their email matches a PSA member"

# field -> (label, hint); per PSA where the same name means something else.
FIELD_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "connectwise": {
        "url": ("API URL", "The API base, e.g. https://na.myconnectwise.net/v4_6_release/apis/3.0"),
        "company": ("Company ID", "The company id you sign in to ConnectWise with"),
        "public_key": ("Public key", "An API member's public key"),
        "private_key": ("Private key", "The same API member's private key"),
        "client_id": ("Client ID", "Your integration's clientId (developer.connectwise.com)"),
    },
    "autotask": {
        "username": ("API user name", "An API-only user, e.g. handoff@example.com"),
        "secret": ("Secret", "The API user's secret"),
        "integration_code": ("API tracking identifier", "The API user's tracking identifier (integration code)"),
        "url": ("Zone REST URL (optional)", "Empty: discovered from the user name"),
        "discovery_url": ("Zone discovery URL (optional)", "Empty: Autotask's own"),
    },
    "halo": {
        "url": ("Resource server URL", "Configuration > Integrations > Halo API, e.g. https://acme.halopsa.com/api"),
        "auth_url": ("Authorisation server URL", "e.g. https://acme.halopsa.com/auth"),
        "client_id": ("Client ID", "A client-credentials application"),
        "client_secret": ("Client secret", "That application's secret"),
        "tenant": ("Tenant (optional)", "Hosted instances only"),
    },
}


def field_label(kind: str, name: str) -> str:
    return FIELD_TEXTS.get(kind, {}).get(name, (name, ""))[0]


def field_hint(kind: str, name: str) -> str:
    return FIELD_TEXTS.get(kind, {}).get(name, ("", ""))[1]


# --- what a PSA answered, as admins read it (the jobs' errors and the trail, the card's footer, Test) ---


def credentials_rejected(vendor: str, status: int | None) -> str:
    return f"{vendor} rejected the credentials ({status})"


def unreachable(vendor: str, why: str) -> str:
    return f"Couldn't reach {vendor} ({why})"


def no_ticket(vendor: str, reference: str) -> str:
    return f"{vendor} has no ticket {reference}"


def no_answer_within(seconds: float) -> str:
    return f"no answer within {seconds:g}s"


def why_unreachable(problem: PsaProblem) -> str:
    """Why the PSA could not answer now, in a few words ("it answered 503")."""
    if problem.reason == TIMED_OUT:
        return no_answer_within(problem.seconds or 0)
    if problem.reason == DROPPED:
        return f"connection dropped: {problem.detail}"
    if problem.reason == BUSY:
        return f"it answered {problem.status}"
    return problem.detail  # CONNECT_FAILED: the connection error's name


CHECK_THE_URL = "check the API URL"
# A saved connection sealed under another key (or none): the settings, their Test and the card all say it so.
NOT_READABLE = "can't be read with this server's HANDOFF_SECRET_KEY (not set, or another key)"
# What each final refusal says (a PsaProblem's code -> its words, from its facts).
_REFUSALS = {
    REJECTED: lambda p: credentials_rejected(p.vendor, p.status),
    NO_SUCH: lambda p: f"{p.vendor} has no such {p.what} (404)",
    REDIRECTED: lambda p: f"{p.vendor} answered a redirect ({p.status}) instead of JSON: {CHECK_THE_URL}",
    HTML_PAGE: lambda p: f"{p.vendor} answered an HTML page instead of JSON ({p.status}): {CHECK_THE_URL}",
    NOT_JSON: lambda p: f"{p.vendor} answered something that is not JSON ({p.status})",
    REFUSED: lambda p: f"{p.vendor} refused the {p.what} ({p.status})" + (f": {p.detail}" if p.detail else ""),
    NO_ZONE: lambda p: f"{p.vendor} zone discovery found no zone for the API user",
    NO_TOKEN: lambda p: f"{p.vendor} issued no access token",
    NOT_ITS_REFERENCE: lambda p: f"ticket reference {p.detail!r} is not a {p.vendor} ticket",
    NO_TICKET: lambda p: f"{no_ticket(p.vendor, p.detail)} (404)",
    UNREADABLE: lambda p: f"the saved PSA credentials {NOT_READABLE}: an admin enters them again and saves",
}


def psa_problem(problem: PsaProblem) -> str:
    """Why a PSA call failed, as admins read it: the card's footer (after "PSA notes stopped: "), the jobs' trail."""
    said = _REFUSALS.get(problem.reason)
    return said(problem) if said else unreachable(problem.vendor, why_unreachable(problem))


# --- the card's footer line about the PSA ---------------------------------------------------------
# The handoff keeps "<kind>: <detail>" (core/models.HandoffState.notice): no platform's words; this says it.
NOTES_STOPPED = "psa.notes_stopped"  # detail: why (the PSA's answer, worded above)
ASSIGN_STOPPED = "psa.assign_stopped"  # detail: why
NO_EMAILS = "psa.no_emails"  # detail: the permission the chat app lacks (e.g. Slack's users:read.email)
NOTICE_CHARS = 300  # the stored line's room (db/tables.py handoffs.notice)


def notice(kind: str, detail: str = "") -> str:
    """The footer line as the handoff stores it."""
    return f"{kind}: {detail}"[:NOTICE_CHARS]


def notice_kind(stored: str | None) -> str | None:
    return stored.split(": ", 1)[0] if stored else None


def card_notice(stored: str) -> Message:
    """The card's footer line, for both platforms: why PSA notes or the ticket's assignment stopped."""
    kind, _, detail = stored.partition(": ")
    if kind == NOTES_STOPPED:
        return _say("psa.notes_stopped", f"PSA notes stopped: {detail}")
    if kind == ASSIGN_STOPPED:
        return _say("psa.assign_stopped", f"PSA ticket assignment stopped: {detail}")
    if kind == NO_EMAILS:
        return _say("psa.no_emails", ("PSA ticket not assigned: Handoff may not see people's email addresses. To fix "
                                      "it, ", Hint("allow_emails"), "."))
    return _say("notice", stored)  # a line stored before the kinds (already worded)


# --- the settings form ------------------------------------------------------------------------------


def field_problem(kind: str, name: str, code: str) -> Message:
    """One field's error in the PSA form (core/psa_form.py's codes)."""
    if code == UNKNOWN_KIND:
        return _say("psa.form.kind", "Pick ConnectWise PSA, Autotask PSA or HaloPSA.")
    label = field_label(kind, name)
    if code == REQUIRED:
        return _say("psa.form.required", f"{label} is required for {KIND_LABELS.get(kind, kind)}.")
    if code == NOT_HTTPS:
        return _say("psa.form.not_https", f"{label} must start with https:// (credentials never travel unencrypted).")
    if code == NOT_A_URL:
        return _say("psa.form.not_a_url", f"{label} must be a web address, like https://psa.example.com.")
    if code == TOO_LONG:
        return _say("psa.form.too_long", f"{label} is too long (at most {MAX_CHARS} characters).")
    return _say("psa.form.invalid", f"{label} is not valid.")


def fix_fields() -> Message:
    return _say("psa.form.fix_fields", "Nothing was saved: please fix the highlighted fields and save again.")


def no_secret_key() -> Message:
    return _say("psa.no_secret_key", "Nothing was saved: PSA credentials are stored encrypted, and this installation "
                                     "has no key for that. Ask whoever runs Handoff to set HANDOFF_SECRET_KEY (make "
                                     "one with: python -c 'from cryptography.fernet import Fernet; "
                                     "print(Fernet.generate_key().decode())') and restart it, then save again.")


# --- what the settings show -------------------------------------------------------------------------


def described(status: PsaStatus) -> str:
    """The connection in a few words, never a credential: 'ConnectWise PSA at https://…'."""
    if status.kind is None:
        return "none"
    where = status.where or "the zone Autotask finds from the API user"
    return f"{KIND_LABELS.get(status.kind, status.kind)} at {where}"


def status_line(status: PsaStatus) -> Message:
    if status.kind is None:
        return _say("psa.status", ("PSA connection: ", Strong("none"),
                                   ". Ticket notes are not written; admins can set one up here."))
    whose = {"stored": "this workspace's own",
             "environment": "from the server's configuration (HANDOFF_PSA); a connection saved here wins over it",
             "unreadable": f"saved, but its credentials {NOT_READABLE}: enter them again and save"}[status.source]
    return _say("psa.status", ("PSA connection: ", Strong(described(status)), f" ({whose})."))


def assign_line(status: PsaStatus) -> Message:
    """Whether picking up makes the senior the ticket's owner, and whose choice that is."""
    said = "the senior who picks up becomes the ticket's owner" if status.assign else \
        "picking up leaves the ticket's owner as it is"
    whose = "this workspace's choice" if status.assign_chosen else "the server's default, HANDOFF_PSA_ASSIGN"
    return _say("psa.assign", ("Ticket owner: ", Strong("on" if status.assign else "off"), f" — {said} ({whose})."))


def assign_set(status: PsaStatus) -> Message:
    if status.assign:
        return _say("psa.assign_set", "Saved: from now on, the senior who picks up an escalation becomes the "
                                      "ticket's owner (when their email matches a PSA member).")
    return _say("psa.assign_set", "Saved: from now on, picking up an escalation leaves the ticket's owner as it is.")


def saved(status: PsaStatus) -> Message:
    return _say("psa.saved", ("Saved: this workspace's PSA connection is ", Strong(described(status)),
                              ". Escalations that name a ticket get their notes there."))


def removed(outcome: PsaRemoved) -> Message:
    done = "Removed this workspace's PSA connection." if outcome.had_one else \
        "Nothing to remove: this workspace has no PSA connection of its own."
    if outcome.status.kind is not None:
        return _say("psa.removed", (done + " The server's configured connection applies: ",
                                    Strong(described(outcome.status)), "."))
    return _say("psa.removed", done + " Ticket notes are not written until one is set up.")


def testing() -> Message:
    return _say("psa.testing", "Testing the PSA connection…")


def test_result(result: PsaTestResult) -> Message:
    vendor = VENDORS.get(result.kind, "The PSA")
    if result.outcome == "works":
        return _say("psa.test.works", f"The PSA connection works: {vendor} accepted the credentials.")
    if result.outcome == "rejected":
        return _say("psa.test.rejected", f"{credentials_rejected(vendor, result.status)}. Check them, enter "
                                         "them again and save.")
    if result.outcome == "unreachable":
        return _say("psa.test.unreachable", f"{unreachable(vendor, result.detail)}. Check the URL, and that {vendor} "
                                            "answers from where Handoff runs.")
    if result.outcome == "refused":
        return _say("psa.test.refused", f"The PSA connection does not work: {result.detail}.")
    if result.outcome == "unreadable":
        return _say("psa.test.unreadable", f"The saved PSA credentials {NOT_READABLE}: enter them again and save.")
    return _say("psa.test.none", "There is no PSA connection to test: set one up first.")


# --- the escalate form's ticket field ---------------------------------------------------------------


def ticket_problem(problem: TicketProblem) -> Message:
    """Why the ticket reference was not accepted, and what the PSA's references look like."""
    vendor = VENDORS.get(problem.kind, "The PSA")
    if problem.reason == "not_found":
        return _say("ticket.not_found", f"{no_ticket(vendor, problem.reference)}. Check the number.")
    if problem.reason == "closed":
        return _say("ticket.closed", f"{vendor} ticket {problem.number} ({problem.title}) is closed. "
                                     "Reopen it, or name the open ticket.")
    if problem.kind == "autotask":
        return _say("ticket.bad_form", "Autotask tickets look like T20261123.0042 (the ticket number) or a numeric "
                                       "ticket id.")
    return _say("ticket.bad_form", f"{vendor} ticket numbers are digits only, like 123456 "
                                   f"(at most {problem.max_digits} digits).")
