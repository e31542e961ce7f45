"""Slack: bolt app, handlers, delivery; bot.slack.app.install wires it."""
