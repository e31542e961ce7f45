"""Microsoft Teams: the agent, activity parsing, inbound auth and delivery; bot.teams.app.install wires it."""
