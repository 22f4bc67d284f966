"""Where a ``CallbackSweeper`` keeps its progress between runs and across restarts.

A checkpoint holds one small JSON document: the sweep under way (when it started,
which list it is reading, the cursor within it) and when the last complete sweep
started. What was *handled* is not here but in the ``Deduplicator``'s store, which the
callback receiver shares. ``FileCheckpoint`` replaces its file atomically (a temporary
file in the same directory, flushed, then ``os.replace``), so a process killed while
saving leaves the previous document or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread

from cryptopay_async._redis import RedisConnection

State = dict[str, Any]


@runtime_checkable
class Checkpoint(Protocol):
    """Loads and saves the sweeper's document (JSON-compatible values only)."""

    async def load(self) -> State | None:
        """The last saved document, or None before the first save."""
        ...

    async def save(self, state: State) -> None:
        """Replace the document; when this returns, a new process loads ``state``."""
        ...


class MemoryCheckpoint:
    """The default: progress kept in this process only (lost on restart)."""

    def __init__(self) -> None:
        self._state: State | None = None

    async def load(self) -> State | None:
        return None if self._state is None else json.loads(json.dumps(self._state))

    async def save(self, state: State) -> None:
        self._state = json.loads(json.dumps(state))


class FileCheckpoint:
    """The document in a JSON file at ``path``, replaced atomically at each save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Path = Path(path)

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r})"

    async def load(self) -> State | None:
        return await anyio.to_thread.run_sync(self._read)

    async def save(self, state: State) -> None:
        text = json.dumps(state, separators=(",", ":"), sort_keys=True)
        await anyio.to_thread.run_sync(self._write, text)

    def _read(self) -> State | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
        except ValueError:
            raise ValueError(f"{self.path.name} is not a sweep checkpoint (not JSON)") from None
        if not isinstance(state, dict):
            raise ValueError(f"{self.path.name} is not a sweep checkpoint (not an object)")
        return state

    def _write(self, text: str) -> None:
        directory = self.path.parent
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if hasattr(os, "O_DIRECTORY"):  # the rename itself survives a power cut
            folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)


class RedisCheckpoint:
    """The document in Redis under ``prefix + name``, for sweepers on several machines.

    ``redis`` is a ``redis://`` URL (opened per call with coredis, the ``redis``
    extra), a ``coredis.Redis`` or a ``redis.asyncio.Redis`` client.
    """

    def __init__(
        self,
        redis: object,
        name: str,
        *,
        prefix: str = "cryptopay:sweep:",
        timeout: float = 5.0,
    ) -> None:
        if not name or any(ch.isspace() or not ch.isprintable() for ch in name):
            raise ValueError("name must be a non-empty str without whitespace")
        self.key: str = prefix + name
        self.timeout = timeout
        self._source = redis
        self._shared = None if isinstance(redis, str) else RedisConnection(redis, timeout=timeout)
        if isinstance(redis, str):
            RedisConnection(redis, timeout=timeout)  # a bad URL fails here, not later

    def __repr__(self) -> str:
        return f"RedisCheckpoint(key={self.key!r})"

    async def load(self) -> State | None:
        with anyio.fail_after(self.timeout):
            if self._shared is not None:
                raw = await self._shared.get(self.key)
            else:
                async with RedisConnection(self._source, timeout=self.timeout) as redis:
                    raw = await redis.get(self.key)
        if raw is None:
            return None
        state = json.loads(raw)
        if not isinstance(state, dict):
            raise ValueError(f"Redis key {self.key} is not a sweep checkpoint")
        return state

    async def save(self, state: State) -> None:
        text = json.dumps(state, separators=(",", ":"), sort_keys=True)
        with anyio.fail_after(self.timeout):
            if self._shared is not None:
                await self._shared.put(self.key, text)
                return
            async with RedisConnection(self._source, timeout=self.timeout) as redis:
                await redis.put(self.key, text)
