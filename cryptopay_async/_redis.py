"""One Redis connection for the limiter and the callback store: coredis or a redis.asyncio client.

``coredis`` (the ``redis`` extra) is built on anyio, so it runs under asyncio and trio;
a URL is opened with it. A ``redis.asyncio`` client the application already has is
accepted too (asyncio only). Both libraries run Lua scripts and plain commands the
same way but differ in lifecycle (a coredis pool must be entered with ``async with``
in a parent task before tasks share it) and in their exception trees; this adapter
hides exactly those two differences, nothing else, which no library does for us.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from cryptopay_async._extras import install_hint

ScriptCall = Callable[[list[str], list[str | int]], Awaitable[Any]]

URL_SCHEMES = ("redis://", "rediss://", "unix://")
EXTRA_HINT = install_hint("redis", "the Redis support")


class RedisConnection:
    """A Redis client (opened from a URL, or the caller's own) with uniform errors.

    ``errors`` is the tuple of exceptions meaning "Redis failed or is unreachable".
    A client opened here from a URL is owned: entered and closed with this object.
    A caller's coredis client is entered too (coredis counts entries, so entering a
    client the caller already entered is harmless); a redis.asyncio client needs no
    entering and is never closed here.
    """

    def __init__(self, redis: object, *, timeout: float) -> None:
        self.client: Any
        if isinstance(redis, str):
            if not redis.startswith(URL_SCHEMES):
                raise ValueError("a Redis URL must start with redis://, rediss:// or unix://")
            try:
                import coredis
            except ImportError:
                raise ValueError(EXTRA_HINT) from None
            self.client = coredis.Redis.from_url(
                redis, connect_timeout=timeout, stream_timeout=timeout
            )
            self.flavour = "coredis"
        else:
            module = type(redis).__module__
            if module.startswith("coredis"):
                self.flavour = "coredis"
            elif module.startswith("redis.asyncio"):
                self.flavour = "redis-py"
            else:
                raise TypeError(
                    "redis must be a redis:// URL, a coredis.Redis client or a "
                    f"redis.asyncio.Redis client, got {type(redis).__name__}"
                )
            self.client = redis
        self.errors: tuple[type[BaseException], ...] = (OSError, TimeoutError, *self._errors())

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self.flavour == "coredis":
            import coredis.exceptions

            return (coredis.exceptions.RedisError,)
        import redis.exceptions

        return (redis.exceptions.RedisError,)

    async def __aenter__(self) -> Self:
        if self.flavour == "coredis":
            # The pool, not the client: a pool counts its entries, so a client the
            # application entered already may be entered here again.
            await self.client.connection_pool.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The caller's exception is not handed to coredis's task group, which would
        # wrap it in an ExceptionGroup; it propagates unchanged after this returns.
        if self.flavour == "coredis":
            await self.client.connection_pool.__aexit__(None, None, None)

    def script(self, source: str) -> ScriptCall:
        """A callable running ``source`` by its SHA (loaded again after a server restart)."""
        script = self.client.register_script(source)

        async def call(keys: list[str], args: list[str | int]) -> Any:
            return await script(keys=keys, args=args)

        return call

    async def uptime(self) -> int:
        """Seconds since the Redis server started (``INFO server``)."""
        info = await self.client.info("server")
        return int(info["uptime_in_seconds"])

    async def set_if_absent(self, key: str, ttl_ms: int, value: str = "1") -> bool:
        """``SET key value NX PX ttl_ms``: True if this call created the key."""
        return await self._set(key, value, ttl_ms, condition="NX")

    async def set_for(
        self, key: str, value: str, ttl_ms: int, *, only_if_present: bool = False
    ) -> bool:
        """``SET key value PX ttl_ms`` (``XX`` with ``only_if_present``): True if it was set."""
        return await self._set(key, value, ttl_ms, condition="XX" if only_if_present else None)

    async def _set(self, key: str, value: str, ttl_ms: int, *, condition: str | None) -> bool:
        if self.flavour == "coredis":
            from coredis.tokens import PureToken

            token = {"NX": PureToken.NX, "XX": PureToken.XX}.get(condition or "")
            return bool(await self.client.set(key, value, condition=token, px=ttl_ms))
        flags = {"nx": condition == "NX", "xx": condition == "XX"}
        return bool(await self.client.set(key, value, px=ttl_ms, **flags))

    async def get(self, key: str) -> bytes | str | None:
        value: bytes | str | None = await self.client.get(key)
        return value

    async def put(self, key: str, value: str) -> None:
        """``SET key value``, kept without expiry."""
        await self.client.set(key, value)

    async def delete(self, key: str) -> None:
        if self.flavour == "coredis":
            await self.client.delete([key])
        else:
            await self.client.delete(key)
