"""A limiter shared by every process and machine that uses one Redis server.

Written by hand around one Lua script (``reserve.lua``): the Redis rate-limiting
libraries we know count fixed or sliding windows by polling or answer only yes/no;
none reserves a future instant on the server's clock, which is what keeps a FIFO
queue across processes with one round trip per grant.
"""

from __future__ import annotations

import logging
import math
from importlib import resources
from types import TracebackType
from typing import Self

import anyio
import anyio.abc
import anyio.lowlevel

from cryptopay_async._errors._exceptions import RateLimiterUnavailableError
from cryptopay_async._redis import RedisConnection
from cryptopay_async.ratelimit._settings import check_bucket_settings
from cryptopay_async.ratelimit._turns import Turns

logger = logging.getLogger("cryptopay_async.ratelimit")

RESERVE_SCRIPT = resources.files(__package__).joinpath("reserve.lua").read_text("utf-8")
DEFAULT_PREFIX = "cryptopay:ratelimit:"
DEFAULT_TIMEOUT = 5.0
MAX_NAME_LENGTH = 200


class RedisTokenBucket:
    """``TokenBucket``'s promise across processes: at most ``rate`` grants per ``period``.

    Every process and machine that uses the same Redis server and ``name`` shares one
    bucket: no ``period``-second sliding window ever holds more than ``rate`` grants
    among all of them; under saturation they sustain ``rate`` per ``period + margin``
    together. ``redis`` is a ``redis://`` URL (opened with coredis, the ``redis``
    extra, under asyncio or trio), a ``coredis.Redis`` client, or a
    ``redis.asyncio.Redis`` client (asyncio only). ``name`` identifies the bucket; derive
    it from the API key's fingerprint (``fleet_bucket_name``), never the key itself.

    How a grant works: a Lua script reads the Redis server's clock (``TIME``), reserves
    the next free instant and answers how long to wait; the caller sleeps once and
    goes. One round trip per grant, no polling, and the callers' own clocks never
    matter: machines minutes apart keep the promise. Reservations never go backwards,
    so callers are served in reservation order across processes. Within a process
    callers queue first come first served and only the head of the queue holds a
    reservation, so every process gets an equal share when all are saturated, and a
    pause reaches the next reservation of every process.

    ``pause(seconds)`` holds this process at once and is written to Redis in the
    background: every process's next reservation lands after it. A reservation already
    handed out when the pause arrives (at most one per process) still goes.

    Cancellation: a caller cancelled while queued takes nothing. One cancelled after
    its reservation (while sleeping towards it) spends it: that slot stays counted in
    the window and goes unused, so cancelling never lets a window exceed ``rate``; the
    cost is at most one slot per cancelled caller that had reached the head.

    Redis failing: each round trip is bounded by ``timeout`` seconds (connect and
    read); a failure raises ``RateLimiterUnavailableError`` before any request is
    sent, never a silent fallback that could exceed the limit. Callers of this process
    queued when it failed get the same error at their turn, without a round trip of
    their own, so a hung Redis costs a queue one ``timeout``, not one each. A Redis server that
    restarted without its data holds every grant until ``period + margin`` after it
    started, so grants made before the restart stay counted. Run Redis with
    ``maxmemory-policy noeviction`` (its default): an evicted bucket is not noticed.

    Enter it before use (``async with bucket:``), or let ``async with AsyncCryptopay(
    rate_limiter=bucket)`` do it; to share one bucket between clients, enter it once in
    a parent task.
    """

    def __init__(
        self,
        redis: object,
        *,
        name: str,
        rate: int = 200,
        period: float = 60.0,
        burst: int | None = None,
        margin: float = 0.25,
        timeout: float = DEFAULT_TIMEOUT,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.burst: int = check_bucket_settings(rate, period, burst, margin)
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"name must be a non-empty str of at most {MAX_NAME_LENGTH} chars")
        if any(ch.isspace() or not ch.isprintable() or ch in "{}" for ch in name + prefix):
            raise ValueError("name and prefix must not contain whitespace, braces or controls")
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.name = name
        self.rate = rate
        self.period: float = float(period)
        self.margin: float = float(margin)
        self.timeout: float = float(timeout)
        # One hash tag: both keys live on the same Redis Cluster slot.
        self.keys: list[str] = [f"{prefix}{{{name}}}:state", f"{prefix}{{{name}}}:grants"]
        self._redis = RedisConnection(redis, timeout=self.timeout)
        self._reserve = self._redis.script(RESERVE_SCRIPT)
        self._settings: list[str | int] = [
            rate,
            round(self.period * 1e6),
            round(self.margin * 1e6),
            self.burst,
        ]
        self._paused_until = -math.inf  # this process's clock (anyio.current_time())
        self._turns = Turns()
        self._failures = 0  # Redis failures so far: callers queued across one fail too
        self._entered = 0
        self._task_group: anyio.abc.TaskGroup | None = None

    def __repr__(self) -> str:
        return (
            f"RedisTokenBucket(name={self.name!r}, rate={self.rate}, period={self.period}, "
            f"burst={self.burst}, margin={self.margin})"
        )

    @property
    def waiting(self) -> int:
        """How many callers of this process are queued right now."""
        return len(self._turns)

    async def __aenter__(self) -> Self:
        if self._entered == 0:
            await self._redis.__aenter__()
            group = anyio.create_task_group()
            try:
                await group.__aenter__()
            except BaseException:
                await self._redis.__aexit__(None, None, None)
                raise
            self._task_group = group
        self._entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered -= 1
        if self._entered:
            return
        group, self._task_group = self._task_group, None
        assert group is not None
        try:
            await group.__aexit__(None, None, None)  # lets pending pause writes finish
        finally:
            await self._redis.__aexit__(None, None, None)

    def pause(self, seconds: float) -> None:
        """Hold every caller of every process sharing the bucket for ``seconds`` from now."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"pause needs a finite number of seconds >= 0, got {seconds!r}")
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)
        if self._task_group is not None:
            self._task_group.start_soon(self._write_pause)
        # Not entered: the next reservation from this process carries the pause.

    async def acquire(self) -> None:
        """Wait for this caller's reserved instant; see the class docstring for the rules."""
        if self._task_group is None:
            raise RuntimeError(
                "RedisTokenBucket is not entered: use `async with AsyncCryptopay(...)` "
                "or `async with bucket:` around its use"
            )
        await anyio.lowlevel.checkpoint_if_cancelled()
        failures_before = self._failures
        async with self._turns.turn():
            if self._failures != failures_before:
                # Redis failed while this caller queued: fail now rather than each
                # queued caller waiting out its own timeout in turn.
                raise RateLimiterUnavailableError(
                    "Redis failed while this call waited its turn; no request was sent"
                )
            wait = await self._call(reserve=True)
            # The slot is ours from here: cancelled while sleeping, it is spent.
            await anyio.sleep(wait)

    async def _write_pause(self) -> None:
        try:
            await self._call(reserve=False)
        except RateLimiterUnavailableError as exc:
            logger.warning("the pause did not reach Redis (other processes go on): %s", exc)

    async def _call(self, *, reserve: bool) -> float:
        """One script run (two more on a new bucket: ``INFO`` and the retry); seconds to wait.

        Shielded from cancellation: a reservation is either made and known, or not
        made; a connection is never abandoned mid-answer. ``timeout`` bounds it.
        """
        paused_for = self._paused_until - anyio.current_time()
        pause_us = math.ceil(paused_for * 1e6) if paused_for > 0 else 0
        args = [*self._settings, pause_us, -1, int(reserve)]
        try:
            with anyio.fail_after(self.timeout, shield=True):
                answer = int(await self._reserve(self.keys, args))
                if answer == -1:
                    args[5] = await self._redis.uptime()
                    answer = int(await self._reserve(self.keys, args))
        except TimeoutError:
            self._failures += 1
            raise RateLimiterUnavailableError(
                f"Redis did not answer within {self.timeout} s; no request was sent"
            ) from None
        except self._redis.errors as exc:
            self._failures += 1
            raise RateLimiterUnavailableError(
                f"Redis failed ({type(exc).__name__}: {exc}); no request was sent"
            ) from exc
        if answer < 0:
            raise RateLimiterUnavailableError(f"unexpected answer from the Redis script: {answer}")
        return answer / 1e6
