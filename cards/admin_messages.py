"""What Handoff says about itself and its set-up: help, the channel, roles. Pure; see cards/messages.py."""

from __future__ import annotations

from collections.abc import Sequence

from cards.messages import Channel, Hint, Message, _names, _say, ask_an_admin
from cards.view import PersonView
from core.models import Person


def help_text() -> Message:
    return _say("help", ("To hand a problem to a senior engineer, ", Hint("escalate"), ". Admins: ",
                         Hint("use_this_channel"), ", and ", Hint("make_role"), " to give someone a role."))


def launcher() -> Message:
    return _say("launcher", "Stuck? Hand this to a senior engineer: fill in what you know and Handoff posts it to "
                            "the escalation channel.")


def not_in_a_channel() -> Message:
    return _say("channel.not_a_channel", ("Nothing changed: I can only post escalation cards in a team channel, not in "
                                          "a chat. ", Hint("use_this_channel"), "."))


def channel_set(*, first_admin: bool, channel: str | None = None) -> Message:
    """`channel`: named when it was picked elsewhere (Slack's settings); Teams sets it from the channel itself."""
    done = ("Done: escalation cards will be posted in ", Channel(channel), ".") if channel else \
        ("Done: escalation cards will be posted in this channel.",)
    if not first_admin:
        return _say("channel.set", done)
    return _say("channel.set", (*done, " You are the first Handoff admin here, so you can move the channel later and "
                                "give people roles: ", Hint("make_role"), "."))


def channel_unchanged(channel: str) -> Message:
    return _say("channel.unchanged", ("Escalation cards already go to ", Channel(channel), "."))


def not_in_channel(channel: str) -> Message:
    """The channel is set, but the bot is not a member, so its cards would bounce."""
    return _say("channel.bot_not_member", ("I'm not in ", Channel(channel), " yet, so I can't post escalation cards "
                                           "there. ", Hint("invite"), ", then escalations will arrive there."))


def settings_saved(done: Sequence[Message]) -> Message:
    """What the settings form says after a save: each change, one paragraph each."""
    paragraphs = tuple(p for message in done for p in message.paragraphs)
    return Message(kind="settings.saved", paragraphs=paragraphs or (("Nothing to change.",),))


def channel_admins_only(admins: Sequence[Person]) -> Message:
    return _say("channel.admins_only", ("Nothing changed: only a Handoff admin can move the escalation channel. Ask ",
                                        *ask_an_admin(admins), " to do it, or to make you an admin."))


def channel_from_environment() -> Message:
    return _say("channel.from_environment", "Nothing changed: this installation's escalation channel is set by its "
                                            "administrator's configuration, which wins over a channel set in chat.")


def role_how() -> Message:
    return _say("role.how", ("Nothing changed. To give someone a role, ", Hint("make_role"),
                             " and @mention the people it is for."))


def role_set(people: Sequence[Person | PersonView], role: str) -> Message:
    if len(people) > 1:
        return _say("role.set", ("Done: ", *_names(people, limit=10), f" are now {role}s."))
    article = "an" if role[0] in "aeiou" else "a"
    return _say("role.set", ("Done: ", *_names(people), f" is now {article} {role}."))


def roles_admins_only(admins: Sequence[Person]) -> Message:
    return _say("role.admins_only", ("Nothing changed: only a Handoff admin can give roles. Ask ",
                                     *ask_an_admin(admins), "."))
