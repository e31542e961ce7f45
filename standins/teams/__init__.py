"""A local Bot Framework: what Teams sends a bot, and the connector a bot answers through."""
