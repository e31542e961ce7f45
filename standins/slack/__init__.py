"""A local Slack: the Web API the bot calls, and the signed requests Slack sends the bot."""
