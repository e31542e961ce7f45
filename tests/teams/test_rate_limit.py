"""The per-conversation connector budget: 7 calls a window, counted from when calls finish."""

import asyncio
import time

import pytest

from bot.teams.delivery import WINDOW_S, ConversationBusy, ConversationRateLimit, _retry_after


async def test_the_eighth_call_starts_a_window_after_the_first_finished():
    limit = ConversationRateLimit(7)
    starts: list[float] = []

    async def call(key: str, hold: float = 0.0) -> None:
        async with limit.slot(key):
            starts.append(time.monotonic())
            await asyncio.sleep(hold)

    began = time.monotonic()
    await asyncio.gather(*(call("c1", hold=0.2 if i == 0 else 0) for i in range(8)))
    assert starts[7] - began >= 0.2 + WINDOW_S - 0.01  # waited for call 1 to finish, then a window
    other = time.monotonic()
    await call("c2")
    assert time.monotonic() - other < WINDOW_S / 2  # other conversations are not held up (a window's wait)


async def test_a_full_conversation_is_refused_rather_than_waited_for_long():
    limit = ConversationRateLimit(1)
    async with limit.slot("c1"):
        pass
    with pytest.raises(ConversationBusy):
        async with limit.slot("c1", max_wait_s=0.2):
            pass


def test_retry_after_is_honoured_with_jitter():
    delays = {_retry_after({"Retry-After": "2"}) for _ in range(20)}
    assert all(2.0 <= d <= 2.55 for d in delays) and len(delays) > 1
    assert _retry_after({}) is None and _retry_after({"Retry-After": "soon"}) is None
