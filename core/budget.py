"""The platforms' budgets: how fast one channel may receive posts.

Slack allows about one message per second per channel, with short bursts; Teams about 7 per second
per conversation. A `Pace` says that for one platform; a `PostPacer` hands out post slots per channel.

Slots follow the generic cell rate algorithm (GCRA): each channel keeps a "theoretical arrival time"
(tat). A post may go now when tat - now <= (burst - 1) * interval, and then moves tat to
max(tat, now) + interval. Over any window of t seconds a channel gets at most burst + t / interval posts.

`LocalPacer` counts in this process (SQLite, one process). `db.budget.PgPacer` keeps the same state in
PostgreSQL so every replica draws from one budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Pace:
    interval_s: float  # sustained: one post per interval
    burst: int = 1  # how many may go back to back after a quiet spell

    @property
    def tolerance_s(self) -> float:
        return max(0, self.burst - 1) * self.interval_s


class PostPacer(Protocol):
    async def take(self, key: str, pace: Pace) -> float:
        """Take a post slot for `key` now and return 0, or take nothing and return how long to wait."""

    async def push_back(self, key: str, pace: Pace, delay_s: float) -> None:
        """The platform said "slow down" (a 429 with Retry-After): no slot for `key` before delay_s."""


def gcra(tat: float, now: float, pace: Pace) -> tuple[float, float]:
    """(wait, new tat): wait 0 means the slot is taken and tat moves on; else tat is unchanged."""
    start = max(tat, now)
    ahead = start - now
    if ahead > pace.tolerance_s:
        return ahead - pace.tolerance_s, tat
    return 0.0, start + pace.interval_s


class LocalPacer:
    """Post slots counted in this process only (SQLite runs one process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tat: dict[str, float] = {}

    async def take(self, key: str, pace: Pace) -> float:
        wait, tat = gcra(self._tat.get(key, 0.0), self.clock(), pace)
        self._tat[key] = tat
        return wait

    async def push_back(self, key: str, pace: Pace, delay_s: float) -> None:
        blocked_until = self.clock() + delay_s + pace.tolerance_s
        self._tat[key] = max(self._tat.get(key, 0.0), blocked_until)


class CallSlots(Protocol):
    """A bound on concurrent calls (the model's), shared by every replica on PostgreSQL."""

    async def acquire(self, holder: str, *, lease_s: float) -> int | None:
        """Take a free slot for at most `lease_s` (a crashed holder's slot frees itself); None if all are busy."""

    async def release(self, slot: int, holder: str) -> None: ...


class LocalCallSlots:
    """One process: the assessor's own semaphore bounds its calls, so every request gets a slot here."""

    async def acquire(self, holder: str, *, lease_s: float) -> int | None:
        return 0

    async def release(self, slot: int, holder: str) -> None:
        return None
