"""The chain step that waits for the limiter and reacts to 429 answers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio
import httpx

from cryptopay_async._extensions import LIMITER_WAIT, PACE, retry_after
from cryptopay_async._logs import logger
from cryptopay_async.middleware._chain import CallNext
from cryptopay_async.middleware._limiter import GRANT
from cryptopay_async.middleware._retry import doubled

if TYPE_CHECKING:  # the limiters import this package for their step; no cycle at run time
    from cryptopay_async.middleware._limiter import RateLimiter

NOTABLE_WAIT = 1.0  # waits at least this long are logged at INFO


class RateLimitMiddleware:
    """Takes a slot before every attempt; a 429 pauses the limiter for everybody.

    The pause lasts ``Retry-After`` when the server sends it, otherwise a backoff that
    doubles with each consecutive 429 (``initial_pause`` up to ``max_pause``). Either way
    it is capped at ``max_pause`` (the client passes its retry policy's
    ``max_retry_after``, 60 s): one answer saying ``Retry-After: 86400`` must not stop
    every caller of the key for a day. A caller waiting in the limiter can always be
    cancelled (``anyio.fail_after``, ``asyncio.timeout``) and then takes no slot.
    """

    __slots__ = ("_consecutive_429", "initial_pause", "limiter", "max_pause")

    def __init__(
        self, limiter: RateLimiter, *, initial_pause: float = 1.0, max_pause: float = 60.0
    ) -> None:
        self.limiter: RateLimiter = limiter
        self.initial_pause: float = initial_pause
        self.max_pause: float = max_pause
        self._consecutive_429 = 0

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        started = time.perf_counter()
        GRANT.set(None)
        await self.limiter.acquire()
        slot = GRANT.get()
        waited = time.perf_counter() - started
        request.extensions[LIMITER_WAIT] = waited
        if waited >= NOTABLE_WAIT:
            logger.info("%s waited %.1fs for the rate limiter", request.method, waited)
        try:
            response = await call_next(request)
        finally:
            if slot is not None:  # the window counts from the answer, after the arrival
                slot[0] = max(slot[0], anyio.current_time())
        if response.status_code == 429:
            hint = retry_after(response)
            if hint is None:
                hint = doubled(self.initial_pause, self._consecutive_429, self.max_pause)
            hint = min(hint, self.max_pause)
            self._consecutive_429 += 1
            request.extensions[PACE] = pace(self.limiter)
            logger.info("429 from the server: every caller of this limiter pauses %.1fs", hint)
            self.limiter.pause(hint)
        else:
            self._consecutive_429 = 0
        return response


def pace(limiter: RateLimiter) -> str:
    """``200 requests per 60 s`` for a limiter with ``rate`` and ``period``, else its repr."""
    current = getattr(limiter, "current", None)  # a PerRunLimiter: this run's limiter
    if callable(current):
        limiter = current()
    rate, period = getattr(limiter, "rate", None), getattr(limiter, "period", None)
    if isinstance(rate, int) and isinstance(period, int | float):
        return f"{rate} requests per {period:g} s"
    return repr(limiter)
