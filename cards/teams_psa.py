"""The PSA connection on the Teams settings card: which applies, and (for admins) its form. Pure.

The form shows one PSA's fields: "Show its fields" (verb psa_kind) answers the card with the chosen PSA's
fields. A saved secret is never sent back: a password input, empty, with "saved — leave blank to keep".
The words come from cards/psa_messages.py (what Slack says, rendered for Teams).
"""

from __future__ import annotations

from typing import Any

from cards import psa_messages
from cards.teams import _text, escape_markdown
from cards.teams_messages import plain_text
from core.psa_form import ASSIGN, KINDS, PsaStatus, fields_of, hidden_fields, is_required

KIND_VERB, SAVE_VERB, TEST_VERB, REMOVE_VERB = "psa_kind", "psa_save", "psa_test", "psa_remove"
ASSIGN_VERB = "psa_assign"  # the ticket-owner switch saved alone (no credentials typed)
VERBS = (KIND_VERB, SAVE_VERB, TEST_VERB, REMOVE_VERB, ASSIGN_VERB)
SAVE_ASSIGN = "Save ticket owner setting"
KIND_INPUT = "psa_kind"
FORM_KIND = "psa_form_kind"
FIELD_PREFIX = "psa_"


def input_id(name: str) -> str:
    return FIELD_PREFIX + name


def typed_fields(data: dict[str, Any], kind: str) -> dict[str, str]:
    """What an Action.Execute carried for `kind`'s inputs (Teams sends the card's inputs in its data)."""
    if kind not in KINDS:
        return {}
    return {name: str(data.get(input_id(name)) or "") for name in (*fields_of(kind), ASSIGN)}


def _field(kind: str, name: str, status: PsaStatus, error: str | None) -> list[dict[str, Any]]:
    same_kind = status.kind == kind and status.source == "stored"
    hidden = name in hidden_fields(kind)
    saved_secret = hidden and same_kind and name in status.saved_hidden
    field: dict[str, Any] = {"type": "Input.Text", "id": input_id(name), "label": psa_messages.field_label(kind, name),
                             "maxLength": 500}
    hint = psa_messages.field_hint(kind, name)
    if hidden:
        field["style"] = "Password"
    if saved_secret:
        field["placeholder"] = psa_messages.SECRET_SAVED
    elif not hidden and same_kind and status.values.get(name):
        field["value"] = status.values[name]
    elif hint:
        field["placeholder"] = hint[:100]
    if not saved_secret and is_required(kind, name):
        field["label"] += " *"
    blocks = [field]
    if error:
        blocks.append(_text(escape_markdown(error, 400), color="Attention", size="Small", spacing="None"))
    return blocks


def _execute(title: str, verb: str, tenant_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": {"workspace": tenant_id}, **extra}


def psa_section(status: PsaStatus, *, tenant_id: str, can_change: bool, kind: str | None = None,
                errors: dict[str, str] | None = None, notice: str = "", good: bool = True) -> list[dict[str, Any]]:
    """The settings card's PSA part. `errors`: field -> text (rendered); `notice`: what the last action did."""
    body: list[dict[str, Any]] = [
        _text("**PSA connection**", spacing="Large"),
        _text(escape_markdown(plain_text(psa_messages.status_line(status)), 600), isSubtle=True),
    ]
    if status.kind is not None:
        body.append(_text(escape_markdown(plain_text(psa_messages.assign_line(status)), 600), isSubtle=True))
    if notice:
        body.append(_text(escape_markdown(notice, 900), color="Good" if good else "Attention"))
    if not can_change:
        return body
    kind = kind if kind in KINDS else (status.kind if status.kind in KINDS else KINDS[0])
    errors = errors or {}
    body.append({"type": "Input.ChoiceSet", "id": KIND_INPUT, "label": "PSA", "value": kind, "style": "compact",
                 "choices": [{"title": psa_messages.KIND_LABELS[k], "value": k} for k in KINDS]})
    body.append({"type": "ActionSet", "actions": [_execute("Show its fields", KIND_VERB, tenant_id)]})
    for name in fields_of(kind):
        body += _field(kind, name, status, errors.get(name))
    body.append(switch(status))
    actions = [_execute("Save PSA connection", SAVE_VERB, tenant_id, style="positive")]
    actions[0]["data"][FORM_KIND] = kind  # the PSA whose fields are shown (the picker may have moved since)
    if status.kind is not None:
        actions.append(_execute("Test PSA connection", TEST_VERB, tenant_id))
    if status.source in ("stored", "unreadable"):
        actions.append(_execute("Remove PSA connection", REMOVE_VERB, tenant_id, style="destructive"))
    body.append({"type": "ActionSet", "actions": actions})
    if status.kind is not None:  # the switch saved alone: the environment's connection needs no credentials typed
        body.append({"type": "ActionSet", "actions": [_execute(SAVE_ASSIGN, ASSIGN_VERB, tenant_id)]})
    return body


def switch(status: PsaStatus) -> dict[str, Any]:
    """The ticket-owner toggle (one in the card: the connection's Save and the switch's own Save both send it)."""
    return {"type": "Input.Toggle", "id": input_id(ASSIGN), "title": psa_messages.ASSIGN_LABEL,
            "value": "true" if status.assign else "false", "valueOn": "true", "valueOff": "false", "wrap": True}
