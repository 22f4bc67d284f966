"""What the client needs from a limiter, so another store (Redis) can plug in unchanged."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


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
