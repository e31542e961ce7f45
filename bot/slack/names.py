"""The names Slack shows for people (users.info's display name), remembered for a few minutes.

Conflict replies, the checklist and the PSA pick-up note all name people as Slack shows them; asking
users.info every time would spend the method's budget (Tier 4) on a burst of losers, so answers are kept.
Kept for a bounded time, not for the process's life: Handoff does not subscribe to `user_change` events
(that needs an event subscription and a scope many installs lack), so a rename is only seen by asking
again. NAME_TTL_S is how stale a name may be: a rename shows within that long, and a burst of clicks still
makes one call.

Concurrent askers for one person share one call (19 losers asking about one winner make one). A failed
look-up answers the last name Slack gave, if any (else None: the caller uses the stored name).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

NAME_TTL_S = 300.0  # a rename shows in replies and PSA notes within five minutes
MAX_NAMES = 10_000  # past this many remembered names, the expired ones are dropped

Key = tuple[str, str]  # (team id, user id)
Lookup = Callable[[str, str], Awaitable[str | None]]


class ShownNames:
    def __init__(self, lookup: Lookup, *, ttl_s: float = NAME_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lookup = lookup  # (team id, user id) -> the name Slack shows, or None when it cannot say
        self.ttl_s = ttl_s
        self.clock = clock  # seconds, only ever compared with itself (tests move it by hand)
        self._names: dict[Key, tuple[str, float]] = {}  # -> (name, when Slack said it)
        self._lookups: dict[Key, asyncio.Future] = {}

    def fresh(self, team_id: str, user_id: str) -> str | None:
        """The remembered name while it is younger than ttl_s."""
        kept = self._names.get((team_id, user_id))
        if kept is None or self.clock() - kept[1] >= self.ttl_s:
            return None
        return kept[0]

    async def get(self, team_id: str, user_id: str) -> str | None:
        name = self.fresh(team_id, user_id)
        if name is not None:
            return name
        key = (team_id, user_id)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._ask(key))
            lookup.add_done_callback(lambda _: self._lookups.pop(key, None))
        return await asyncio.shield(lookup)

    async def _ask(self, key: Key) -> str | None:
        asked_at = self.clock()
        name = await self.lookup(*key)
        if name is None:
            kept = self._names.get(key)
            return kept[0] if kept else None
        if len(self._names) >= MAX_NAMES:
            self._drop_expired()
        self._names[key] = (name, asked_at)
        return name

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, (_, at) in self._names.items() if now - at >= self.ttl_s]:
            del self._names[key]
