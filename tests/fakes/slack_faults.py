"""Faults in front of the Slack stand-in: rate limits, errors and answers lost after the message landed.

Slack's documented behaviours, injected at random (seeded) on the methods that post or edit:
- 429 Too Many Requests with a `Retry-After` header in seconds and `{"ok": false, "error": "ratelimited"}`
  (https://api.slack.com/apis/rate-limits); nothing is recorded.
- Errors: HTTP 500 or HTTP 200 with `{"ok": false, "error": "internal_error"}` (both listed for
  chat.postMessage: https://api.slack.com/methods/chat.postMessage#errors); nothing is recorded.
- A lost answer: the message IS recorded, then the connection is cut before the answer is sent, as
  when a network drops between Slack and the bot. The bot cannot know whether it landed.
Everything else reaches the stand-in unchanged (it records each call it handles).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from standins.slack.web_api import SlackWebApiStandIn

FAULTY_METHODS = ("chat.postMessage", "chat.update")


@dataclass
class SlackFaults:
    rate_limited: float = 0.20
    errors: float = 0.05
    lost_answers: int = 3  # answers dropped after the message landed, spread over the first posts
    retry_after_s: int = 1
    seed: int = 12
    methods: tuple[str, ...] = FAULTY_METHODS
    injected: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._seen = Counter()

    def middleware(self):
        @web.middleware
        async def inject(request: web.Request, handler):
            method = request.match_info.get("method", "")
            if not self.enabled or method not in self.methods:
                return await handler(request)
            self._seen[method] += 1
            roll = self._random.random()
            if roll < self.rate_limited:
                self.injected["429"] += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(self.retry_after_s)})
            if roll < self.rate_limited + self.errors:
                self.injected["error"] += 1
                if self._random.random() < 0.5:
                    return web.json_response({"ok": False, "error": "internal_error"}, status=500)
                return web.json_response({"ok": False, "error": "internal_error"})
            response = await handler(request)
            if method == "chat.postMessage" and self.lost_answers > 0 and self._seen[method] % 7 == 3:
                self.lost_answers -= 1
                self.injected["lost_answer"] += 1
                request.transport.abort()  # recorded by the stand-in; the bot never hears back
            return response

        return inject

    enabled: bool = True


def faulty_slack_app(fake: SlackWebApiStandIn, faults: SlackFaults) -> web.Application:
    app = fake.app()
    app.middlewares.append(faults.middleware())
    return app
