"""What the client needs from a limiter, so another store (Redis) can plug in unchanged."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol, runtime_checkable

GRANT: ContextVar[list[float] | None] = ContextVar("cryptopay_grant", default=None)
"""The slot a limiter just granted in this task, if it tracks slots: a one-item list
holding the time (``anyio.current_time()``) its window counts from. The rate-limit step
moves that time to when the request's answer came back, which is after the server
counted it, so a limiter that counts from it keeps its promise on the server's clock
however long the request took to leave (a busy event loop, a burst of callers)."""


@runtime_checkable
class RateLimiter(Protocol):
    """Paces requests for one API key.

    ``acquire`` returns when the caller may send one request; ``pause`` holds every
    caller back after the server answered 429 (another process shares the key).
    """

    async def acquire(self) -> None:
        """Wait for a slot and take it; a caller cancelled while waiting takes none."""
        ...

    def pause(self, seconds: float) -> None:
        """Make every caller wait at least ``seconds`` from now."""
        ...
