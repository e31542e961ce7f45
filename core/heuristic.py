"""The assessment we can give without the model: deterministic, built from the snapshot alone.

Used when no API key is configured or the model call failed, so the card is never blank. It is
labelled as not from the model; its confidence is always "low".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.snapshot import Snapshot


@dataclass(frozen=True)
class Rule:
    words: tuple[str, ...]  # any of these (whole words) in the snapshot triggers the rule
    cause: str
    step: str


RULES: tuple[Rule, ...] = (
    Rule(("dns", "mx", "resolve", "resolving", "nxdomain"),
         "Name resolution: a DNS record or resolver setting is wrong or stale",
         "Query the affected names with nslookup/dig from an affected machine and from outside, and compare"),
    Rule(("mail", "email", "exchange", "outlook", "mailbox", "smtp", "ndr"),
         "Mail flow: a connector, transport rule, quota or MX record is blocking delivery",
         "Run a message trace for an affected message and read the NDR or rejection code"),
    Rule(("vpn", "tunnel", "ipsec", "firewall"),
         "Connectivity: a VPN tunnel, firewall rule or route is dropping the traffic",
         "Check the tunnel status and firewall logs for the affected source and destination at the failure time"),
    Rule(("password", "login", "sign-in", "signin", "mfa", "locked", "lockout", "sso", "authentication"),
         "Identity: an account lockout, expired password, MFA or conditional-access policy",
         "Check the sign-in logs for the affected account and note the exact failure reason"),
    Rule(("certificate", "cert", "ssl", "tls", "expired"),
         "Certificates: an expired or untrusted certificate in the chain",
         "Inspect the certificate chain presented by the service and check each expiry date"),
    Rule(("disk", "storage", "space", "full", "quota"),
         "Capacity: a disk, volume or quota has filled up",
         "Check free space and quotas on the affected server or service"),
    Rule(("printer", "print", "spooler"),
         "Printing: the spooler, driver or queue on the print server",
         "Restart the print spooler on the print server and clear stuck jobs, then print a test page"),
    Rule(("backup", "restore", "snapshot"),
         "Backup: a failed job, expired credential or full repository",
         "Read the last backup job's log and check the repository's free space and credentials"),
    Rule(("slow", "latency", "timeout", "timeouts", "performance"),
         "Performance: resource exhaustion or a saturated link on the path",
         "Check CPU, memory and network utilisation on the affected systems at the time of the complaint"),
)

_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")


def matching_rules(snapshot: Snapshot) -> list[Rule]:
    text = " ".join((snapshot.summary, snapshot.domain, snapshot.tried, snapshot.notes, snapshot.excerpt)).lower()
    words = set(_WORD.findall(text))
    return [rule for rule in RULES if words.intersection(rule.words)]


def heuristic_assessment(snapshot: Snapshot) -> dict[str, object]:
    """summary / likely_causes / confidence / next_steps, the same shape the model answers in."""
    rules = matching_rules(snapshot)[:3]
    causes = [rule.cause for rule in rules] or ["Not enough detail in the escalation to narrow the cause"]
    steps = ["Reproduce the problem and record the exact error message, time and affected users"]
    steps += [rule.step for rule in rules]
    if snapshot.tried:
        steps.append("Review what was already tried (below) so nothing is repeated, and confirm each result")
    else:
        steps.append("Ask the escalating engineer what was already tried and what changed recently")
    if snapshot.ticket:
        steps.append(f"Read the history of ticket {snapshot.ticket} for earlier occurrences and recent changes")
    else:
        steps.append("Check recent changes (patches, config, vendor notices) around when the problem started")
    first_line = snapshot.summary.strip().splitlines()[0] if snapshot.summary.strip() else "No summary given"
    return {
        "summary": f"Reported: {first_line}",
        "likely_causes": causes,
        "confidence": "low",
        "next_steps": steps[:6],
    }
