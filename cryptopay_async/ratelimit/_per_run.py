"""The default limiter: one per API key and per event loop run, never shared across runs.

A limiter lives on one event loop: its waiters wake through that loop's events and its
times come from that loop's clock (trio's has a random offset per ``trio.run``). Shared
by two threads each running ``asyncio.run`` it woke waiters on the wrong loop (they hung)
and granted twice in a race; carried from one ``trio.run`` into the next it computed
deadlines a day ahead. So the process-wide default is kept in an ``anyio.lowlevel.RunVar``:
every run gets its own limiter per key, created on first use inside the run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import anyio.lowlevel
from anyio.lowlevel import RunVar

from cryptopay_async.middleware._limiter import RateLimiter

_LIMITERS: RunVar[dict[str, RateLimiter]] = RunVar("cryptopay_async.default_limiters")


def current_run() -> object:
    """What identifies the running event loop run: asyncio's loop, trio's run token.

    Asked on every call of a client and every limiter grant, so asyncio's loop is asked
    directly (cheaper than anyio's token; figures in ``benchmarks/RESULTS.md``, its appendix)
    and anyio's token only otherwise; under asyncio both are the loop.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        token = anyio.lowlevel.current_token()
        return getattr(token, "native_token", token)  # anyio >= 4.11 wraps it


class RunBinding:
    """The event loop run that first used an object; ``check`` refuses every other run.

    A ``TokenBucket`` and a client's runtime both own things that live on one loop.
    """

    __slots__ = ("_lock", "_run")

    def __init__(self) -> None:
        self._run: object = None
        self._lock = threading.Lock()

    def check(self, refusal: str) -> None:
        """Bind to the current run on first use; ``RuntimeError(refusal)`` from another."""
        run = current_run()
        if self._run is run:
            return
        with self._lock:  # two threads' first uses must not both bind
            if self._run is None:
                self._run = run
                return
        raise RuntimeError(refusal)


class PerRunLimiter:
    """A ``RateLimiter`` that hands each event loop run its own limiter named ``name``.

    ``factory`` builds the limiter the first time ``name`` is used in a run; later uses in
    that run get the same one, so every client of the key in one run shares it. Two
    ``PerRunLimiter`` objects with the same ``name`` share it too. Runs in other threads,
    and later runs, get fresh limiters: each run is paced like a separate process (the
    server's 429 pauses the others; a fleet shares a limit through Redis).
    """

    __slots__ = ("factory", "name")

    def __init__(self, name: str, factory: Callable[[], RateLimiter]) -> None:
        self.name: str = name
        self.factory: Callable[[], RateLimiter] = factory

    def __repr__(self) -> str:
        return f"PerRunLimiter(name={self.name!r})"

    def current(self) -> RateLimiter:
        """This run's limiter (created now if this run has none yet)."""
        try:
            limiters = _LIMITERS.get()
        except LookupError:
            limiters = {}
            _LIMITERS.set(limiters)
        limiter = limiters.get(self.name)
        if limiter is None:
            limiter = limiters[self.name] = self.factory()
        return limiter

    async def acquire(self) -> None:
        """Wait for a slot in this run's limiter."""
        await self.current().acquire()

    def pause(self, seconds: float) -> None:
        """Pause this run's limiter."""
        self.current().pause(seconds)
