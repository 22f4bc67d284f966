"""The keys this SDK sets in httpx ``request.extensions`` and ``response.extensions``.

They are the contract between the pipeline's steps and what reads them later (error
messages, logs, your middleware). This module imports nothing of the package, so the
low-level modules (exceptions, messages) can read the keys without importing the steps.
It also reads the one header that steers pacing, ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx

ATTEMPT = "cryptopay_async.attempt"
"""``request.extensions`` key: the 1-based attempt number, set by the retry step."""

SENT = "cryptopay_async.sent"
"""``request.extensions`` key the transport step sets for every attempt.

``False`` only when it is certain that no byte of the attempt left this machine (the
connection could not be made, the pool had no connection); ``True`` when the server
may have received it. Absent (a chain without the SDK's transport step, or a failure
before it) counts as ``True``. The retry step repeats a POST only on ``False``.
"""

LIMITER_WAIT = "cryptopay_async.limiter_wait"
"""``request.extensions`` key: seconds the last attempt waited for the rate limiter."""

PACE = "cryptopay_async.pace"
"""``request.extensions`` key set by the rate-limit step on a 429: what its limiter allows
(``"200 requests per 60 s"``), for the error message. Absent without a limiter."""

RETRY_AFTER = "cryptopay_async.retry_after"
"""``response.extensions`` key: the answer's ``Retry-After`` in seconds (or None)."""


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` of this answer in seconds, parsed on first use and kept with it.

    The retry step, the rate-limit step and ``RateLimitError`` all ask; the header is
    parsed once per answer.
    """
    extensions = response.extensions
    if RETRY_AFTER not in extensions:
        extensions[RETRY_AFTER] = parse_retry_after(response.headers)
    seconds: float | None = extensions[RETRY_AFTER]
    return seconds


def may_have_been_sent(request: httpx.Request) -> bool:
    """Whether the last attempt of ``request`` may have reached the server (see ``SENT``)."""
    return request.extensions.get(SENT) is not False


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date), or None.

    A date in the past gives 0; a value that is neither form gives None.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)
