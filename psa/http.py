"""One HTTP exchange with a PSA: real timeouts, and every answer sorted into what the job does next.

- connection refused, timeouts, a dropped connection, 429 and 5xx  -> PsaUnavailable (RetryLater,
  with the server's Retry-After when it sends one, capped);
- 401 / 403  -> PsaRejected REJECTED (final: retrying cannot help);
- 404        -> PsaRejected NO_SUCH;
- other 4xx  -> PsaRejected REFUSED with the vendor's message (redacted);
- a redirect, or a 2xx/4xx answer that is HTML (a login page, a wrong base URL) -> PsaRejected that says so.
Each error carries a PsaProblem (core/psa_form.py: a code and its facts); the sentence admins read is
cards/psa_messages.psa_problem's, and is the error's text. No error carries a request header, and vendor
messages are scrubbed of the secrets.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

from cards.psa_messages import psa_problem, why_unreachable
from core.errors import PermanentFailure, RetryLater
from core.psa_form import (
    BUSY, CONNECT_FAILED, DROPPED, HTML_PAGE, NO_SUCH, NOT_JSON, REDIRECTED, REFUSED, REJECTED, TIMED_OUT, PsaProblem,
)

RETRY_AFTER_CAP_S = 600.0


class PsaUnavailable(RetryLater):
    """The PSA could not answer now (down, slow, rate-limited): the job tries again later. `str()` is
    "Couldn't reach <vendor> (<why>)"; `why` alone for other sentences (both cards/psa_messages.py's)."""

    def __init__(self, problem: PsaProblem, *, delay_s: float | None = None) -> None:
        super().__init__(psa_problem(problem), delay_s=delay_s)
        self.problem = problem

    @property
    def why(self) -> str:
        return why_unreachable(self.problem)


class PsaRejected(PermanentFailure):
    """The PSA said no in a way retrying cannot change. `str()` is safe to show admins."""

    def __init__(self, problem: PsaProblem) -> None:
        super().__init__(psa_problem(problem))
        self.problem = problem
        self.status = problem.status


async def unless_missing(answer: Awaitable[Any]) -> Any:
    """The PSA's answer, or None when it says 404 (a lookup that found nothing is not an error)."""
    try:
        return await answer
    except PsaRejected as error:
        if error.status == 404:
            return None
        raise


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


@dataclass
class Exchange:
    """A session, a timeout and the vendor's name; `call()` does one request and sorts the answer."""

    session: aiohttp.ClientSession
    vendor: str
    timeout_s: float = 10.0
    secrets: tuple[str, ...] = ()

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        what: str,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        """The parsed JSON answer (None for an empty 2xx body)."""
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with self.session.request(
                method, url, headers=headers, json=json_body, params=params, data=form, timeout=timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return self._sort(response, body, what)
        except aiohttp.ClientConnectorError as error:
            raise PsaUnavailable(self.problem(CONNECT_FAILED, detail=error.__class__.__name__)) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise PsaUnavailable(self.problem(TIMED_OUT, seconds=self.timeout_s)) from None
        except aiohttp.ClientError as error:  # dropped connection, broken payload: maybe it was recorded
            raise PsaUnavailable(self.problem(DROPPED, detail=error.__class__.__name__)) from None

    def problem(self, reason: str, **facts: Any) -> PsaProblem:
        return PsaProblem(self.vendor, reason, **facts)

    def _sort(self, response: aiohttp.ClientResponse, body: bytes, what: str) -> Any:
        status = response.status
        if status == 429 or status >= 500:
            delay = retry_after_s(response.headers.get("Retry-After"))
            raise PsaUnavailable(self.problem(BUSY, status=status), delay_s=delay)
        if status in (401, 403):
            raise PsaRejected(self.problem(REJECTED, status=status))
        if status == 404:
            raise PsaRejected(self.problem(NO_SUCH, status=status, what=what))
        if 300 <= status < 400:
            raise PsaRejected(self.problem(REDIRECTED, status=status))
        if self._looks_like_html(response, body):
            raise PsaRejected(self.problem(HTML_PAGE, status=status))
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            raise PsaRejected(self.problem(NOT_JSON, status=status)) from None
        if status >= 400:
            detail = redact(_vendor_message(data), self.secrets)[:200]
            raise PsaRejected(self.problem(REFUSED, status=status, what=what, detail=detail))
        return data

    @staticmethod
    def _looks_like_html(response: aiohttp.ClientResponse, body: bytes) -> bool:
        kind = response.headers.get("Content-Type", "").lower()
        return "html" in kind or body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def _vendor_message(data: Any) -> str:
    """The human part of a vendor's error body (each vendor names it differently)."""
    if isinstance(data, dict):
        for key in ("message", "error_description", "errors", "error", "Message"):
            value = data.get(key)
            if isinstance(value, list):
                value = "; ".join(str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in value)
            if value:
                return " ".join(str(value).split())
    return ""
