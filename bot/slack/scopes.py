"""The bot scopes Handoff asks for: one list for the manifest and the OAuth install.

Why each: commands -> /escalate and the message shortcut; chat:write -> the card, its edits, thread
replies, ephemerals and DMs to user ids; channels:history / groups:history -> the owner's first reply
in the card's thread (message events), "Escalate this thread" (conversations.replies) and finding a
card a retried post already made, and `/escalate setup` checking the bot is in the channel an admin
picks (conversations.history answers not_in_channel); users:read -> names in conflict replies.
"""

BOT_SCOPES = ["commands", "chat:write", "channels:history", "groups:history", "users:read"]
