"""The PSA connection in Slack: its part of App Home's Settings, and its modal. Pure.

The modal shows one PSA's fields at a time: the PSA picker (an actions block) updates the modal to the
chosen PSA's fields (views.update). A saved secret is never sent back: its input is empty, with "saved —
leave blank to keep". The words come from cards/psa_messages.py.
"""

from __future__ import annotations

from typing import Any

from cards import psa_messages
from cards.limits import SLACK_MODAL_TITLE, SLACK_OPTION_TEXT
from cards.messages import Message
from cards.slack import Block, mrkdwn, plain
from cards.slack_messages import paragraphs_mrkdwn
from core.psa_form import ASSIGN, KINDS, PsaStatus, fields_of, hidden_fields, is_required

PSA_MODAL = "handoff_psa"
OPEN_PSA = "handoff_psa_open"
TEST_PSA = "handoff_psa_test"
REMOVE_PSA = "handoff_psa_remove"
PSA_KIND = "handoff_psa_kind"
SET_ASSIGN = "handoff_psa_assign"  # App Home's ticket-owner checkbox: saved when ticked or unticked
FIELD_PREFIX = "psa_"  # block ids of the modal's inputs: psa_url, psa_private_key, …
TITLE = "PSA connection"


def block_id(name: str) -> str:
    return FIELD_PREFIX + name


def _button(action_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(text, 75), "value": "psa", **extra}


def psa_home(status: PsaStatus, *, can_change: bool) -> list[Block]:
    """App Home: which connection applies, and (for admins) set up / test / remove."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(paragraphs_mrkdwn(psa_messages.status_line(status)))}]
    if status.kind is not None:
        blocks.append({"type": "section", "text": mrkdwn(paragraphs_mrkdwn(psa_messages.assign_line(status)))})
    if not can_change:
        return blocks
    buttons = [_button(OPEN_PSA, "Change PSA connection" if status.source == "stored" else "Set up PSA connection")]
    if status.kind is not None:
        buttons.append(_button(TEST_PSA, "Test PSA connection"))
    if status.source in ("stored", "unreadable"):
        buttons.append(_button(REMOVE_PSA, "Remove PSA connection", style="danger", confirm={
            "title": plain("Remove the PSA connection?", 100),
            "text": plain("Ticket notes stop going to this PSA. Its saved credentials are deleted.", 300),
            "confirm": plain("Remove", 30), "deny": plain("Keep it", 30)}))
    blocks.append({"type": "actions", "block_id": "handoff_psa_actions", "elements": buttons})
    if status.kind is not None:  # the switch alone, without the credentials (the environment's need none typed)
        blocks.append({"type": "actions", "block_id": "handoff_psa_assign", "elements": [_switch(SET_ASSIGN, status)]})
    return blocks


def _switch(action_id: str, status: PsaStatus) -> dict[str, Any]:
    """The ticket-owner checkbox: ticked when pick-up assigns the ticket now (the workspace's choice, else the
    server's)."""
    option = {"text": plain(psa_messages.ASSIGN_LABEL, SLACK_OPTION_TEXT), "value": "true",
              "description": plain(psa_messages.ASSIGN_HINT, SLACK_OPTION_TEXT)}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": action_id, "options": [option]}
    if status.assign:
        element["initial_options"] = [option]
    return element


def _kind_picker(kind: str) -> Block:
    options = [{"text": plain(psa_messages.KIND_LABELS[k], SLACK_OPTION_TEXT), "value": k} for k in KINDS]
    return {"type": "actions", "block_id": "handoff_psa_picker", "elements": [{
        "type": "static_select", "action_id": PSA_KIND, "options": options,
        "initial_option": next(o for o in options if o["value"] == kind),
        "placeholder": plain("Which PSA", 150)}]}


def _field(kind: str, name: str, status: PsaStatus) -> Block:
    same_kind = status.kind == kind and status.source == "stored"
    hidden = name in hidden_fields(kind)
    saved_secret = hidden and same_kind and name in status.saved_hidden
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": name, "max_length": 500}
    hint = psa_messages.field_hint(kind, name)
    if saved_secret:
        element["placeholder"] = plain(psa_messages.SECRET_SAVED, 150)
        hint = psa_messages.SECRET_SAVED
    elif not hidden and same_kind and status.values.get(name):
        element["initial_value"] = status.values[name]
    block: Block = {"type": "input", "block_id": block_id(name), "label": plain(psa_messages.field_label(kind, name), 2000),
                    "element": element, "optional": saved_secret or not is_required(kind, name)}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _assign(status: PsaStatus) -> Block:
    """The form's switch (saved with the connection): the same checkbox as App Home's."""
    return {"type": "input", "block_id": block_id(ASSIGN), "optional": True,
            "label": plain(psa_messages.ASSIGN_HEADING, 2000), "element": _switch(ASSIGN, status)}


def psa_modal(status: PsaStatus, kind: str | None = None) -> dict[str, Any]:
    """The form for `kind` (default: the saved connection's PSA, else the first); its kind rides in private_metadata."""
    kind = kind if kind in KINDS else (status.kind if status.kind in KINDS else KINDS[0])
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(paragraphs_mrkdwn(psa_messages.status_line(status)))},
                           _kind_picker(kind)]
    blocks += [_field(kind, name, status) for name in fields_of(kind)]
    blocks.append(_assign(status))
    return {
        "type": "modal", "callback_id": PSA_MODAL, "private_metadata": kind,
        "title": plain(TITLE, SLACK_MODAL_TITLE), "submit": plain("Save", SLACK_MODAL_TITLE),
        "close": plain("Cancel", SLACK_MODAL_TITLE), "blocks": blocks,
    }


def psa_result_modal(*said: Message) -> dict[str, Any]:
    """What happened (saved, tested, removed, refused), one section each."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(paragraphs_mrkdwn(m))} for m in said]
    return {"type": "modal", "callback_id": PSA_MODAL, "title": plain(TITLE, SLACK_MODAL_TITLE),
            "close": plain("Close", SLACK_MODAL_TITLE), "blocks": blocks}
