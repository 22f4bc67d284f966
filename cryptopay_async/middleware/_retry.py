"""Retrying only what is safe to repeat when money can move.

A GET can be repeated freely. A POST or PATCH is repeated only when the server
certainly did not act on it: the transport step recorded that no byte of the attempt
left this machine (``SENT`` is ``False``), or the answer was 429 (refused by the
limit) or 503 (maintenance). After a 500, a reset or a read timeout the server may
have created the withdrawal, so the error goes to the caller, who can read the object
back by its ``custom_id``.

The decision never rests on an exception's class alone: a transport library may
report a disconnect after sending as a connect error (httpx-aiohttp did), so the
class says *whether* to retry and the ``SENT`` record says whether a POST *may* be.
The errors' ``maybe_processed`` follows the same record (``_ambiguity``).
"""

from __future__ import annotations

import random

import anyio
import attrs
import httpx

from cryptopay_async import _telemetry
from cryptopay_async._extensions import ATTEMPT, SENT, may_have_been_sent, retry_after
from cryptopay_async._logs import logger
from cryptopay_async.middleware._chain import CallNext

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Failures worth another attempt: the network may behave next time. Whether a POST may
# be repeated is not read from the class but from the transport step's SENT record.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@attrs.frozen
class RetryPolicy:
    """How many times and how long to wait; what is retried is fixed by safety rules.

    Delays grow ``initial_backoff * 2**n`` up to ``max_backoff``, minus up to ``jitter``
    of themselves at random. A ``Retry-After`` up to ``max_retry_after`` seconds is
    waited exactly; a longer one is not waited out, the error goes to the caller.
    A create with a ``custom_id`` or a commit that failed ambiguously is settled by
    reading it back and sending it again at most ``max_retries`` times, and no new
    attempt starts ``recovery_deadline`` seconds after the call began.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    initial_backoff: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_backoff: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    recovery_deadline: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))
    idempotent_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    unsafe_statuses: frozenset[int] = frozenset({429, 503})

    def retries_status(self, method: str, status: int) -> bool:
        """Whether an answer with ``status`` may be repeated for ``method``."""
        if method in IDEMPOTENT_METHODS:
            return status in self.idempotent_statuses
        return status in self.unsafe_statuses

    def retries_error(self, method: str, error: Exception, *, sent: bool = True) -> bool:
        """Whether a transport failure may be repeated for ``method``.

        ``sent`` is whether the attempt may have reached the server (``SENT``); a POST
        or PATCH is repeated only when it certainly did not, whatever the error's class.
        """
        if not isinstance(error, _TRANSIENT):
            return False
        return method in IDEMPOTENT_METHODS or not sent

    def backoff(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (0-based) when the server gave no hint."""
        delay = doubled(self.initial_backoff, retry, self.max_backoff)
        return delay * (1 - self.jitter * random.random())


def doubled(initial: float, times: int, cap: float) -> float:
    """``initial * 2**times``, at most ``cap``; never ``OverflowError`` however large ``times``.

    ``2.0 ** 1024`` raises; past 1000 doublings any positive start is above any cap anyway.
    """
    return min(cap, initial * 2.0 ** min(times, 1000))


class RetryMiddleware:
    """Repeats an attempt through the inner chain (limiter and signing) when the policy allows."""

    __slots__ = ("policy",)

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy: RetryPolicy = policy or RetryPolicy()

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        policy = self.policy
        method = request.method
        retry = 0
        while True:
            request.extensions[ATTEMPT] = retry + 1
            request.extensions.pop(SENT, None)  # the transport step records this attempt's
            try:
                response = await call_next(request)
            except httpx.RequestError as exc:
                if retry >= policy.max_retries or not policy.retries_error(
                    method, exc, sent=may_have_been_sent(request)
                ):
                    raise
                delay = policy.backoff(retry)
                reason = type(exc).__name__
                _telemetry.note_retry(exc)
            else:
                if retry >= policy.max_retries or not policy.retries_status(
                    method, response.status_code
                ):
                    return response
                hint = retry_after(response)
                if hint is not None and hint > policy.max_retry_after:
                    return response
                delay = policy.backoff(retry) if hint is None else hint
                reason = str(response.status_code)
                _telemetry.note_retry(response.status_code)
            retry += 1
            logger.info(
                "retrying %s %s after %s in %.3fs (retry %d of %d)",
                method,
                request.url.raw_path.decode("ascii"),  # percent-encoded: no raw newline
                reason,
                delay,
                retry,
                policy.max_retries,
            )
            await anyio.sleep(delay)
