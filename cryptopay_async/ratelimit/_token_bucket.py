"""An in-process limiter whose promise is a sliding window, not just an average rate."""

from __future__ import annotations

import math
from collections import deque

import anyio
import anyio.lowlevel

from cryptopay_async.middleware._limiter import GRANT
from cryptopay_async.ratelimit._per_run import RunBinding
from cryptopay_async.ratelimit._settings import check_bucket_settings
from cryptopay_async.ratelimit._turns import Turns


class TokenBucket:
    """At most ``rate`` acquisitions in any ``period``-second window, FIFO, cancellation-safe.

    Two rules decide when the next caller may go, and it waits for the later of them:

    * the sliding window: the ``rate``-th acquisition back must lie ``period`` seconds
      or more in the past, so no half-open window ``[t, t + period)`` ever holds more
      than ``rate`` acquisitions, whatever the ``burst`` and however callers arrive;
    * the bucket (GCRA): after a quiet spell at most ``burst`` callers go back to back,
      then one every ``period / rate`` seconds. ``burst=None`` means ``rate``.

    ``margin`` seconds are added to the window of the first rule. The server counts a
    request when it arrives, a variable delay after the grant. Through the client, a
    grant's window counts from when its answer came back (``middleware.GRANT``), which
    is after the server counted it, so a slow start (a busy loop sending a burst) cannot
    squeeze more than ``rate`` arrivals into a window; ``margin`` covers the rest (a
    request still in flight when its slot comes round counts from its grant). Under
    saturation the rules allow ``rate`` per ``period + margin``. Callers are
    served in arrival order; one cancelled while queued takes nothing and holds nobody
    up. Time comes from ``anyio.current_time()`` and waits from ``anyio.sleep_until``,
    so a virtual clock (trio's ``MockClock``) drives it in tests. Deadlines are
    absolute times computed from recorded timestamps, never accumulated sleeps, so
    float rounding cannot leave a waiter sleeping remainders that never move the clock.

    One bucket serves one event loop run: its waiters wake through that loop's events
    and its times are that loop's clock (trio's has another offset in every
    ``trio.run``). It binds to the run that first uses it; ``acquire`` or ``pause`` from
    any other run (another thread's loop, a later ``asyncio.run`` or ``trio.run``) raises
    ``RuntimeError`` instead of hanging or granting twice. Build the bucket inside the
    run that uses it; the clients' default limiter already is one per run
    (``shared_limiter``).
    """

    def __init__(
        self, rate: int = 200, period: float = 60.0, burst: int | None = None, margin: float = 0.0
    ) -> None:
        burst = check_bucket_settings(rate, period, burst, margin)
        self.rate = rate
        self.period: float = float(period)
        self.burst = burst
        self.margin: float = float(margin)
        # One sum, used everywhere: (t + period) + margin can round one ulp below
        # t + (period + margin), letting a grant land on the window's last instant.
        self._window = self.period + self.margin
        self._interval = self.period / rate
        self._tolerance = (burst - 1) * self._interval
        # The last `rate` grants, each a one-item list: its grant time, moved on to when its
        # answer came back (GRANT).
        self._recent: deque[list[float]] = deque(maxlen=rate)
        self._tat = -math.inf  # GCRA theoretical arrival time
        self._paused_until = -math.inf
        self._turns = Turns()
        self._run = RunBinding()  # the event loop run this bucket is bound to

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate={self.rate}, period={self.period}, burst={self.burst}, "
            f"margin={self.margin})"
        )

    @property
    def waiting(self) -> int:
        """How many callers are queued right now."""
        return len(self._turns)

    def in_window(self) -> int:
        """Grants in the window that ends now (``period + margin`` long): the current pace."""
        start = anyio.current_time() - self._window
        return sum(1 for granted in self._recent if granted[0] > start)

    def next_free_at(self) -> float:
        """The earliest clock time at which the next caller may go."""
        ready = max(self._tat - self._tolerance, self._paused_until)
        if len(self._recent) == self.rate:
            ready = max(ready, self._recent[0][0] + self._window)
        return ready

    def pause(self, seconds: float) -> None:
        """Hold every caller, queued or not, for ``seconds`` from now (never shortens a pause)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"pause needs a finite number of seconds >= 0, got {seconds!r}")
        self._check_run()
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    async def acquire(self) -> None:
        """Wait for this caller's turn and take one slot."""
        self._check_run()
        await anyio.lowlevel.checkpoint_if_cancelled()
        now = anyio.current_time()
        if not self._turns and now >= self.next_free_at():
            self._grant(now)
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return
        async with self._turns.turn():
            while True:
                ready = self.next_free_at()
                now = anyio.current_time()
                if now >= ready:
                    break
                await anyio.sleep_until(ready)
            self._grant(now)

    def _grant(self, now: float) -> None:
        slot = [now]
        self._recent.append(slot)
        GRANT.set(slot)
        self._tat = max(self._tat, now) + self._interval

    def _check_run(self) -> None:
        """Bind to the current event loop run on first use; refuse every other run."""
        self._run.check(
            "this TokenBucket belongs to another event loop run (another thread's loop, or "
            "an earlier asyncio.run/trio.run): build one per run, or use the default "
            "limiter, which is per run already"
        )
