"""First come, first served: the queue both token buckets put their callers in.

One caller at a time holds the turn; it passes to the next in arrival order when the
holder leaves, however it leaves (granted, failed or cancelled). A caller cancelled
while queued takes nothing and holds nobody up. Written here because anyio's ``Lock``
is FIFO too but cannot say how many wait (``waiting``, a metric) without private state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio


class Turns:
    """Callers in arrival order; ``async with turns.turn():`` waits for this caller's."""

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        self._queue: dict[object, anyio.Event] = {}  # insertion-ordered waiters

    def __len__(self) -> int:
        """How many callers are queued or hold the turn right now."""
        return len(self._queue)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        token = object()
        mine = anyio.Event()
        self._queue[token] = mine
        if next(iter(self._queue)) is token:
            mine.set()
        try:
            await mine.wait()
            yield
        finally:
            del self._queue[token]
            if mine.is_set() and self._queue:
                # This caller held the turn: hand it to the next in line.
                next(iter(self._queue.values())).set()
