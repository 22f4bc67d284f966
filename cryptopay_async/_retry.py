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
``may_have_been_processed`` is the same rule for callers who resolve outcomes.
"""

from __future__ import annotations

import logging
import random

import anyio
import attrs
import httpx

from cryptopay_async._headers import parse_retry_after
from cryptopay_async._middleware import CallNext

logger = logging.getLogger("cryptopay_async")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

ATTEMPT = "cryptopay_async.attempt"
"""``request.extensions`` key holding the 1-based attempt number."""

SENT = "cryptopay_async.sent"
"""``request.extensions`` key the transport step sets for every attempt.

``False`` only when it is certain that no byte of the attempt left this machine (the
connection could not be made, the pool had no connection); ``True`` when the server
may have received it. Absent (a chain without the SDK's transport step) counts as
``True``.
"""

# Failures worth another attempt: the network may behave next time.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Answers after which the server certainly did not act: refused by the limit, maintenance.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


def may_have_been_sent(request: httpx.Request) -> bool:
    """Whether the last attempt of ``request`` may have reached the server (see ``SENT``)."""
    return request.extensions.get(SENT) is not False


def may_have_been_processed(
    request: httpx.Request, outcome: httpx.Response | BaseException
) -> bool:
    """Whether the server may have acted on the attempt that ended with ``outcome``.

    ``False`` means certainly not: the attempt never left this machine, or the server
    answered 429 or 503 (refused before acting), or any other 4xx (rejected). ``True``
    for 2xx (acted) and for 500, 502, 504 and every failure after sending (a reset, a
    timeout, a cancellation mid-flight, a truncated answer): the outcome is unknown and
    must be resolved (read back by ``custom_id``), never guessed by repeating.
    """
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        return status < 400 or (status >= 500 and status not in NOT_PROCESSED_STATUSES)
    return may_have_been_sent(request)


@attrs.frozen
class RetryPolicy:
    """How many times and how long to wait; what is retried is fixed by safety rules.

    Delays grow ``initial_backoff * 2**n`` up to ``max_backoff``, minus up to ``jitter``
    of themselves at random. A ``Retry-After`` up to ``max_retry_after`` seconds is
    waited exactly; a longer one is not waited out, the error goes to the caller.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    initial_backoff: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_backoff: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
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
        delay = min(self.max_backoff, self.initial_backoff * 2.0**retry)
        return delay * (1 - self.jitter * random.random())


class RetryMiddleware:
    """Repeats an attempt through the inner chain (limiter and signing) when the policy allows."""

    __slots__ = ("policy",)

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()

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
            else:
                if retry >= policy.max_retries or not policy.retries_status(
                    method, response.status_code
                ):
                    return response
                hint = parse_retry_after(response.headers)
                if hint is not None and hint > policy.max_retry_after:
                    return response
                delay = policy.backoff(retry) if hint is None else hint
                reason = str(response.status_code)
            retry += 1
            logger.debug(
                "retrying %s %s after %s in %.3fs (retry %d of %d)",
                method,
                request.url.path,
                reason,
                delay,
                retry,
                policy.max_retries,
            )
            await anyio.sleep(delay)
