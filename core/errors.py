"""Errors the core raises. Expected outcomes (lost claims, refusals, invalid input) are values instead."""

from db.errors import DatabaseUnavailable

__all__ = ["DatabaseUnavailable", "RetryLater", "RateLimited", "PermanentFailure"]


class RetryLater(Exception):
    """A job should run again after `delay_s` (a platform's Retry-After, say).

    `attempt_used=False` for waits that are not failures (pacing posts to a channel): the try
    is given back, so a job queued behind many others is not failed for waiting its turn.
    """

    def __init__(self, message: str, *, delay_s: float | None = None, attempt_used: bool = True) -> None:
        super().__init__(message)
        self.delay_s = delay_s
        self.attempt_used = attempt_used


class RateLimited(RetryLater):
    """The platform refused a post for its rate limit (Slack 429 + Retry-After, a connector 429).

    Nothing was posted, so the try is not spent; the delivery core pushes the channel's next post
    slot back by `delay_s` for every replica before rescheduling.
    """

    def __init__(self, message: str, *, delay_s: float) -> None:
        super().__init__(message, delay_s=delay_s, attempt_used=False)


class PermanentFailure(Exception):
    """A job cannot succeed by retrying (bad token, channel gone): fail it now."""
