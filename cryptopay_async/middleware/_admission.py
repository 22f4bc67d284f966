"""The gate in front of the chain: how many calls may build a request and enter it at once."""

from __future__ import annotations

from types import TracebackType

import anyio

ADMITTED_PER_SLOT = 4
"""Calls admitted per connection slot: the slots' attempts plus attempts waiting to retry."""


class AdmissionGate:
    """First built-in step: at most ``max_concurrency * 4`` calls are inside the chain.

    Unlike the other steps it runs before the request exists, so it is an async
    context manager around building the request rather than a middleware: a call that
    waits here holds almost nothing: no request, no coroutine frames of the steps
    (``benchmarks/RESULTS.md``, section d and its appendix). FIFO, and a call cancelled while
    waiting takes no place.
    """

    __slots__ = ("_slots",)

    def __init__(self, max_concurrency: int) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self._slots = anyio.Semaphore(max_concurrency * ADMITTED_PER_SLOT, fast_acquire=True)

    async def __aenter__(self) -> None:
        await self._slots.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._slots.release()
