"""Processed-callback keys in Redis, so every worker and machine skips the same repeats."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self, TypeVar

import anyio

from cryptopay_async._redis import RedisConnection
from cryptopay_async.callbacks._dedupe import Verdict

DEFAULT_PREFIX = "cryptopay:callbacks:"
DEFAULT_TTL = 2 * 24 * 3600.0  # outlives Cryptopay's retry schedule (about 1.5 days)
DEFAULT_TIMEOUT = 5.0

T = TypeVar("T")


LEASED, KEPT = "lease", "1"  # the value of a claimed key, of a handled one

# Claim, or say what holds the key, in one atomic step: a SET NX followed by a separate
# GET could find the key deleted in between (its handler failed) and call it handled.
CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 'new'
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 'in progress'
end
return 'handled'
"""

# PEXPIRE only a key still claimed: a lapsed claim that another worker claimed and
# settled in the meantime must not be shortened back to a lease.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisDeliveryStore:
    """A ``LeasingStore`` in Redis: ``SET key 1 NX PX ttl`` to add, ``DEL`` to discard.

    A claim is a script doing ``SET key lease NX PX lease`` and, when the key exists,
    reading what it holds (``lease``: in progress; ``1``: handled) in the same step;
    it is renewed by a script that extends only a key still holding ``lease``, and
    settled by ``SET key 1 PX ttl``.

    ``SET NX`` is atomic on the server, so of two deliveries of one event that reach
    two workers at once exactly one wins. ``redis`` is a ``redis://`` URL (opened with
    coredis, the ``redis`` extra), a ``coredis.Redis`` or a ``redis.asyncio.Redis``
    client. Keys are ``prefix`` + the delivery key and expire after ``ttl`` seconds.

    Entered (``async with store:``, which the FastAPI router does in its lifespan), a
    store built from a URL keeps one connection pool; not entered, it opens a
    connection per call, which is fine at callback rates. A Redis failure raises
    (``coredis`` or ``redis`` errors): a failed claim is answered 503 before the
    handler runs, so Cryptopay delivers the event again later; a failed ``settle``
    after the handler returned leaves the claim to lapse after its lease, and the
    state may then be handed once more (the handler's own effects must be idempotent).
    """

    def __init__(
        self,
        redis: object,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = DEFAULT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(prefix, str) or any(
            ch.isspace() or not ch.isprintable() for ch in prefix
        ):
            raise ValueError("prefix must be a str without whitespace or control characters")
        self.prefix = prefix
        self.ttl: float = float(ttl)
        self.timeout: float = float(timeout)
        self._source = redis
        self._shared = RedisConnection(redis, timeout=self.timeout)
        self._entered = 0

    def __repr__(self) -> str:
        return f"RedisDeliveryStore(prefix={self.prefix!r}, ttl={self.ttl})"

    async def __aenter__(self) -> Self:
        await self._shared.__aenter__()
        self._entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered -= 1
        await self._shared.__aexit__(None, None, None)

    async def _run(self, command: Callable[[RedisConnection], Awaitable[T]]) -> T:
        with anyio.fail_after(self.timeout):
            if self._entered or not isinstance(self._source, str):
                return await command(self._shared)
            async with RedisConnection(self._source, timeout=self.timeout) as redis:
                return await command(redis)

    async def add(self, key: str) -> bool:
        ttl_ms = self._ms(self.ttl)
        return await self._run(
            lambda redis: redis.set_if_absent(self.prefix + key, ttl_ms, value=KEPT)
        )

    async def claim(self, key: str, lease: float) -> Verdict:
        """Claim ``key`` for ``lease`` seconds, or say whether it is in progress or handled."""
        lease_ms = self._ms(min(lease, self.ttl))
        answer = await self._run(
            lambda redis: redis.script(CLAIM)([self.prefix + key], [LEASED, lease_ms])
        )
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return Verdict(text)

    async def renew(self, key: str, lease: float) -> bool:
        """Another ``lease`` seconds for a key still claimed (a kept key is left alone)."""
        lease_ms = self._ms(min(lease, self.ttl))
        renewed = await self._run(
            lambda redis: redis.script(RENEW)([self.prefix + key], [LEASED, lease_ms])
        )
        return bool(renewed)

    async def settle(self, key: str) -> None:
        """``SET key 1 PX ttl``: the handler returned; kept for the store's time to live."""
        ttl_ms = self._ms(self.ttl)
        await self._run(lambda redis: redis.set_for(self.prefix + key, KEPT, ttl_ms))

    async def discard(self, key: str) -> None:
        await self._run(lambda redis: redis.delete(self.prefix + key))

    @staticmethod
    def _ms(seconds: float) -> int:
        return max(1, round(seconds * 1000))
