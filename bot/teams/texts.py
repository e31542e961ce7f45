"""Everything Handoff says to people in Teams, in one place. Pure.

Each refusal says what happened and what to do next, so nobody is left at a dead end. Plain text (no
markdown): the same words show in chat messages, dialog pop-ups and card-action answers, and only chat
renders markdown. Names pass through neutralize_mentions so quoting one pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards.text import neutralize_mentions
from core.models import Person

SAY_ESCALATE = 'say "escalate" to Handoff in a chat'
USE_THIS_CHANNEL = '"@Handoff use this channel"'
MAKE_ROLE = '"@Handoff make @Name engineer" (or viewer, or admin)'

HELP = (
    f"To hand a problem to a senior engineer, {SAY_ESCALATE} (or @mention Handoff in a channel with \"escalate\"). "
    f"Admins: say {USE_THIS_CHANNEL} in the channel that should get escalation cards, and {MAKE_ROLE} "
    "in a channel to give someone a role."
)

LAUNCHER = (
    "Stuck? Hand this to a senior engineer: fill in what you know and Handoff posts it to the escalation channel."
)


def _names(people: Sequence[Person], limit: int = 3) -> str:
    names = [neutralize_mentions(p.display_name) for p in people[:limit]]
    more = len(people) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def ask_an_admin(admins: Sequence[Person]) -> str:
    """'a Handoff admin (Alex, Sam)' — or, with none yet, how the first one comes about."""
    if admins:
        return f"a Handoff admin ({_names(admins)})"
    return f"a Handoff admin (there is none yet: whoever first says {USE_THIS_CHANNEL} in a channel becomes one)"


# --- the escalation channel -------------------------------------------------------------------

NOT_IN_A_CHANNEL = (
    f"Nothing changed: I can only post escalation cards in a team channel, not in a chat. "
    f"Say {USE_THIS_CHANNEL} in the channel that should get them."
)


def channel_set(*, first_admin: bool) -> str:
    done = "Done: escalation cards will be posted in this channel."
    if not first_admin:
        return done
    return (f"{done} You are this organisation's first Handoff admin, so you can move the channel later "
            f"and give people roles: {MAKE_ROLE}.")


def channel_admins_only(admins: Sequence[Person]) -> str:
    return (f"Nothing changed: only a Handoff admin can move the escalation channel. Ask {ask_an_admin(admins)} "
            f"to say {USE_THIS_CHANNEL} here, or to make you an admin.")


# --- roles --------------------------------------------------------------------------------------

ROLE_HOW = f"Nothing changed. To give someone a role, say {MAKE_ROLE} and @mention the people it is for."


def role_set(people: Sequence[Person], role: str) -> str:
    if len(people) > 1:
        return f"Done: {_names(people, limit=10)} are now {role}s."
    return f"Done: {_names(people)} is now {'an' if role[0] in 'aeiou' else 'a'} {role}."


def roles_admins_only(admins: Sequence[Person]) -> str:
    return f"Nothing changed: only a Handoff admin can give roles. Ask {ask_an_admin(admins)}."

# --- the escalate dialog ------------------------------------------------------------------------

FIX_FIELDS = "Nothing was sent yet: please fix the highlighted fields and press Escalate again."
TARGET_NOT_A_PERSON = "Choose one person from the list, or leave this empty."
TARGET_IS_YOU = "Choose someone else: you are the one escalating. Or leave this empty."
UNKNOWN_ORGANISATION = (
    "Nothing was sent: Handoff could not tell which organisation this came from. "
    f"Please try again from Teams; if it keeps happening, {SAY_ESCALATE} and tell your Handoff admin."
)


def no_channel(admins: Sequence[Person]) -> str:
    return ("Nothing was sent yet: no escalation channel is set up. "
            f"Ask {ask_an_admin(admins)} to say {USE_THIS_CHANNEL} in the channel that should get escalations, "
            "then press Escalate again (what you typed is kept here).")


def escalated(*, notified_senior: bool) -> str:
    told = " The senior you chose gets a direct message too." if notified_senior else ""
    return f"Escalated. The card is in the escalation channel; you'll see there who picks it up.{told}"


# --- card buttons -------------------------------------------------------------------------------

CARD_INVALID = f"This card is out of date, so nothing happened. To raise a new escalation, {SAY_ESCALATE}."
BUTTON_UNSUPPORTED = "That button is not supported any more, so nothing happened. Use the buttons on the card as it is now."


def refusal(reason: str, *, owner: str | None, admins: Sequence[Person]) -> str:
    """Why a card button did nothing, and what to do instead."""
    if reason == "own_escalation":
        return ("You escalated this one yourself, so a teammate needs to pick it up. "
                "You'll see on the card who does.")
    if reason == "viewer":
        return ("Your Handoff role is viewer: you can see escalations but not pick them up. "
                f"Ask {ask_an_admin(admins)} for the engineer role.")
    if reason == "not_owner":
        who = f" ({neutralize_mentions(owner)})" if owner else ""
        return (f"Only the engineer who picked this up{who} can release or resolve it. "
                "Ask them in the card's thread, or pick it up yourself once they release it.")
    if reason == "not_author":
        return "Only the person who escalated this can do that. Ask them in the card's thread."
    if reason == "not_open":
        return f"This escalation is closed (resolved or withdrawn), so there is nothing to pick up. If the problem is back, {SAY_ESCALATE}."
    if reason == "not_found":
        return f"Handoff can't find this escalation any more, so nothing happened. If you still need help, {SAY_ESCALATE}."
    return "That isn't possible right now, so nothing happened. The card shows where things stand."


# --- in the card's thread and in direct messages (sent by the jobs) ------------------------------


def conflict_reply(*, winner: str, when: str) -> str:
    """'Already claimed by Dana 3 minutes ago.' (the issue's words; the card above shows the rest)."""
    return f"Already claimed by {neutralize_mentions(winner)} {when}."


def claimed_reply(*, owner: str) -> str:
    return f"{neutralize_mentions(owner)} picked this up."


def notify_reply(*, author: str) -> str:
    """The named senior, mentioned in the card's thread when Teams won't open a chat with them."""
    return f"{neutralize_mentions(author)} asked for you on this escalation. Pick it up from the card above."


def notify_direct(*, author: str, title: str) -> str:
    """The named senior's direct message: who, what, and where to act."""
    return (f"{neutralize_mentions(author)} escalated to you: {neutralize_mentions(title)}. "
            "The card with Pick Up is in your escalation channel; anyone there can pick it up too.")
