"""The per-conversation connector budget: 7 calls a second, slots reserved in order."""

from bot.teams.delivery import ConversationRateLimit, _retry_after


def test_seven_a_second_per_conversation_then_the_next_slot():
    now = [100.0]
    limit = ConversationRateLimit(7, clock=lambda: now[0])
    assert [limit.reserve("c1") for _ in range(7)] == [0.0] * 7
    assert limit.reserve("c1") == 1.0  # the 8th waits for the first to age out
    assert limit.reserve("c2") == 0.0  # other conversations are not held up
    now[0] += 0.5
    assert limit.reserve("c1") == 0.5
    assert limit.reserve("c1", max_wait_s=0.2) is None  # too long: the job is rescheduled instead


def test_retry_after_is_honoured_with_jitter():
    delays = {_retry_after({"Retry-After": "2"}) for _ in range(20)}
    assert all(2.0 <= d <= 2.55 for d in delays) and len(delays) > 1
    assert _retry_after({}) is None and _retry_after({"Retry-After": "soon"}) is None
