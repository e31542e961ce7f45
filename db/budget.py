"""The platforms' budgets in PostgreSQL, so every replica draws from one (core/budget.py explains them).

- `channel_slots`: one row per channel holding its theoretical arrival time (GCRA) in epoch seconds of the
  database's clock (one clock for all replicas). A slot is taken with one INSERT ... ON CONFLICT DO UPDATE
  ... WHERE ... RETURNING: the row lock orders concurrent takers, the WHERE refuses when the channel is
  ahead of its burst allowance, and nothing is read before it is written.
- `model_slots`: `limit` rows; a model call leases a free one (SKIP LOCKED) for at most `lease_s`, so a
  replica killed mid-call frees its slot when the lease runs out.
"""

from __future__ import annotations

from sqlalchemy import text

from core.budget import Pace
from db.engine import Database

_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8 AS now"

_TAKE = text(f"""
WITH t AS ({_NOW})
INSERT INTO channel_slots AS s (key, tat)
SELECT :key, t.now + :interval FROM t
ON CONFLICT (key) DO UPDATE
   SET tat = GREATEST(s.tat, excluded.tat - :interval) + :interval
 WHERE GREATEST(s.tat, excluded.tat - :interval) - (excluded.tat - :interval) <= :tolerance
RETURNING tat
""")

_WAIT = text(f"WITH t AS ({_NOW}) SELECT s.tat - t.now - :tolerance FROM channel_slots s, t WHERE s.key = :key")

_PUSH_BACK = text(f"""
WITH t AS ({_NOW})
INSERT INTO channel_slots AS s (key, tat)
SELECT :key, t.now + :delay + :tolerance FROM t
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(s.tat, excluded.tat)
""")

_SEED = text("INSERT INTO model_slots (slot) SELECT generate_series(0, :limit - 1) ON CONFLICT (slot) DO NOTHING")

_ACQUIRE = text(f"""
WITH t AS ({_NOW}),
free AS (
    SELECT m.slot FROM model_slots m, t
     WHERE m.slot < :limit AND (m.holder IS NULL OR m.lease_until < t.now)
     ORDER BY m.slot LIMIT 1 FOR UPDATE OF m SKIP LOCKED
)
UPDATE model_slots AS m SET holder = :holder, lease_until = t.now + :lease
  FROM free, t WHERE m.slot = free.slot
RETURNING m.slot
""")

_RELEASE = text("UPDATE model_slots SET holder = NULL, lease_until = NULL WHERE slot = :slot AND holder = :holder")


class PgPacer:
    """Post slots per channel, counted in PostgreSQL across every replica."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def take(self, key: str, pace: Pace) -> float:
        params = {"key": key, "interval": pace.interval_s, "tolerance": pace.tolerance_s}
        async with self.db.transaction() as conn:
            if (await conn.execute(_TAKE, params)).first() is not None:
                return 0.0
            wait = (await conn.execute(_WAIT, params)).scalar_one_or_none()
        return max(0.01, float(wait or 0.0))

    async def push_back(self, key: str, pace: Pace, delay_s: float) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(_PUSH_BACK, {"key": key, "delay": delay_s, "tolerance": pace.tolerance_s})


class PgCallSlots:
    """At most `limit` model calls at once across every replica."""

    def __init__(self, database: Database, *, limit: int) -> None:
        self.db = database
        self.limit = max(1, limit)
        self._seeded = False

    async def acquire(self, holder: str, *, lease_s: float) -> int | None:
        async with self.db.transaction() as conn:
            if not self._seeded:
                await conn.execute(_SEED, {"limit": self.limit})
            slot = (await conn.execute(_ACQUIRE, {"limit": self.limit, "holder": holder, "lease": lease_s})).scalar()
        self._seeded = True
        return slot

    async def release(self, slot: int, holder: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(_RELEASE, {"slot": slot, "holder": holder})
