"""Errors the core raises. Expected outcomes (lost claims, refusals, invalid input) are values instead."""

from db.errors import DatabaseUnavailable

__all__ = ["DatabaseUnavailable", "RetryLater", "PermanentFailure"]


class RetryLater(Exception):
    """A job should run again after `delay_s` (a platform's Retry-After, say)."""

    def __init__(self, message: str, *, delay_s: float | None = None) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentFailure(Exception):
    """A job cannot succeed by retrying (bad token, channel gone): fail it now."""
