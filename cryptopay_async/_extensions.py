"""The keys this SDK sets in httpx ``request.extensions`` and ``response.extensions``.

They are the contract between the pipeline's steps and what reads them later (error
messages, logs, your middleware). This module imports nothing of the package, so the
low-level modules (exceptions, messages) can read the keys without importing the steps.
"""

from __future__ import annotations

import httpx

from cryptopay_async._headers import parse_retry_after

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
