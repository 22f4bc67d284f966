"""Reading the HTTP headers that steer pacing (``Retry-After``)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx

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
