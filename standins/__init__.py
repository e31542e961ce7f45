"""Local stand-ins of the services Handoff talks to, served over real HTTP on 127.0.0.1.

`standins.slack`: the Slack Web API and the signed requests Slack sends a bot. `standins.teams`: the Bot
Framework (token keys, token endpoint, connector). Each follows the vendor's published docs (cited in
the module). `handoff demo` plays on them and the tests reuse them; they import nothing from Handoff.
"""
