"""Processing each callback once although Cryptopay delivers it again and again.

Cryptopay retries a delivery for up to a day and a half until it gets a 200, and the
same event can arrive twice anyway. Acknowledge fast, process once: remember what was
processed, skip repeats, and forget an event whose processing failed so that the next
delivery can try again.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from cryptopay_async import _json
from cryptopay_async.callbacks._events import Callback
from cryptopay_async.models._dict import to_dict


@runtime_checkable
class DeliveryStore(Protocol):
    """Where processed callback keys are kept: memory by default, or your database or Redis.

    ``add`` must be atomic (``INSERT ... ON CONFLICT DO NOTHING``, Redis ``SET NX``) so
    two concurrent deliveries of one event cannot both win.
    """

    async def add(self, key: str) -> bool:
        """Remember ``key``; True if it was new, False if it was already there."""
        ...

    async def discard(self, key: str) -> None:
        """Forget ``key`` (its processing failed and should run again)."""
        ...


class MemoryDeliveryStore:
    """A bounded in-process store: the newest ``max_entries`` keys, each for ``ttl`` seconds.

    The default ``ttl`` of two days outlives Cryptopay's retry schedule (about 1.5 days).
    Lost on restart and not shared between processes: use your own store for that.
    """

    def __init__(self, max_entries: int = 100_000, ttl: float = 2 * 24 * 3600.0) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("max_entries must be >= 1 and ttl > 0")
        self.max_entries = max_entries
        self.ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def add(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:  # drop expired keys, oldest first
            oldest, stamp = next(iter(self._seen.items()))
            if now - stamp < self.ttl:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        while len(self._seen) >= self.max_entries:
            self._seen.popitem(last=False)
        self._seen[key] = now
        return True

    async def discard(self, key: str) -> None:
        self._seen.pop(key, None)


def delivery_key(event: Callback) -> str:
    """Same type, event and object state means the same delivery.

    A digest of the whole event, keys sorted: two payments to one invoice give two
    ``transaction_created`` events that differ in ``data``, so both are processed.
    """
    document = {"type": event.type, "event": str(event.event), "data": to_dict(event.data)}
    canonical = _json.dumps(_sorted(document))
    return f"{event.type}:{event.event}:{hashlib.sha256(canonical).hexdigest()}"


def _sorted(value: object) -> object:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


class Deduplicator:
    """Decides whether a delivery is the first of its event, with a store and a key function."""

    def __init__(
        self,
        store: DeliveryStore | None = None,
        key: Callable[[Callback], str] = delivery_key,
    ) -> None:
        self.store: DeliveryStore = store if store is not None else MemoryDeliveryStore()
        self.key = key

    async def first_delivery(self, event: Callback) -> bool:
        """True the first time an event is seen (and remembers it), False for repeats."""
        return await self.store.add(self.key(event))

    async def forget(self, event: Callback) -> None:
        """Let the next delivery of ``event`` through again (its processing failed)."""
        await self.store.discard(self.key(event))
