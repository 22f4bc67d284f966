"""A bounded number of requests in flight, taken before the rate limiter's grant."""

from __future__ import annotations

import anyio
import httpx

from cryptopay_async.middleware._chain import CallNext


class ConcurrencyLimitMiddleware:
    """At most ``max_concurrency`` attempts between here and the end of the chain.

    httpcore scans every pooled connection on each request, so a small pool with a FIFO
    queue in front of it beats a large pool: 500 concurrent calls neither time out
    waiting for the pool (``PoolTimeout``) nor slow down. The slot is taken before the
    limiter, so a granted request is sent at once: the server then sees requests spaced
    as the limiter spaced them, not bunched up after waiting for a connection.
    """

    __slots__ = ("_slots",)

    def __init__(self, max_concurrency: int) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self._slots = anyio.Semaphore(max_concurrency, fast_acquire=True)

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        async with self._slots:
            return await call_next(request)
