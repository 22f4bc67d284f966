"""Processing each callback once although Cryptopay delivers it again and again.

Cryptopay retries a delivery for up to a day and a half until it gets a 200, and the
same event can arrive twice anyway. Acknowledge fast, process once: remember what was
processed, skip repeats, and forget an event whose processing failed so that the next
delivery can try again.

What is remembered is the *object state* an event carries (``state_key``), so a
callback and a ``CallbackSweeper`` that read the same invoice back agree on whether it
was handled.

A store that can lease (the memory and Redis stores) tells three answers apart: a state
is new (and now claimed), handled (kept), or in progress (claimed by a handler that has
not returned). A claim is a lease of ``lease`` seconds that ``Deduplicator.hold`` renews
every ``lease / 3`` seconds while the handler runs, and ``settle`` keeps it once the
handler returned. So a slow handler keeps its claim as long as it runs, and a process
killed mid-handler (SIGKILL, power loss) blocks that state for at most ``lease`` seconds:
the next delivery or sweep after that hands it again. "Handled" means the handler
returned and the store kept it; a state whose handler was killed before that is handed
again, so a handler must make its own effects idempotent (a credit keyed by the invoice
id, as the examples do) for the moment between its last write and ``settle``: no store
outside the handler's own database transaction can close that moment.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import anyio

from cryptopay_async import _json
from cryptopay_async.callbacks._events import Callback, UnknownCallback
from cryptopay_async.models._callbacks import (
    ChannelPaymentCallback,
    CoinWithdrawalCallback,
    InvoiceCallback,
    InvoiceCallbackEvent,
    SubscriptionCallback,
)
from cryptopay_async.models._dict import to_dict

logger = logging.getLogger("cryptopay_async.callbacks")

DEFAULT_LEASE = 30.0
"""Seconds a claim outlives the last sign of life of its handler (``Deduplicator(lease=)``)."""


class Verdict(enum.Enum):
    """What a store says about an object state: ``Deduplicator.claim``'s answer."""

    NEW = "new"
    """Not seen before; now claimed by the caller, who must run the handler."""
    HANDLED = "handled"
    """A handler returned for it: skip it (a callback is answered 200)."""
    IN_PROGRESS = "in progress"
    """Claimed by a handler that has not returned yet: try again later."""


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


@runtime_checkable
class LeasingStore(DeliveryStore, Protocol):
    """A store that can hold a key for a while before keeping it (memory and Redis do).

    ``claim`` adds the key for ``lease`` seconds only and, in the same atomic step (as
    ``add``), says what it found: ``Verdict.NEW`` (claimed now), ``IN_PROGRESS``
    (claimed by another, not settled) or ``HANDLED`` (kept). ``renew`` gives a claim
    still held another ``lease`` seconds (False: it was no longer held); ``settle``
    keeps the key for the store's full time to live. A store without ``claim``,
    ``renew`` and ``settle`` is used as a plain ``DeliveryStore``: nothing is then ever
    in progress, and a process killed mid-handler blocks its state for the store's
    whole memory (until a sweep with another store, or the key's expiry).
    """

    async def claim(self, key: str, lease: float) -> Verdict: ...

    async def renew(self, key: str, lease: float) -> bool: ...

    async def settle(self, key: str) -> None: ...


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
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> when it was kept
        self._leases: dict[str, float] = {}  # claimed key -> when its lease ends

    def __len__(self) -> int:
        return len(self._seen) + len(self._leases)

    def _verdict(self, key: str, now: float) -> Verdict:
        while self._seen:  # drop expired keys, oldest first
            oldest, stamp = next(iter(self._seen.items()))
            if now - stamp < self.ttl:
                break
            del self._seen[oldest]
        if len(self._leases) >= self.max_entries:  # leases of handlers that never returned
            self._leases = {k: end for k, end in self._leases.items() if end > now}
        if self._leases.get(key, -math.inf) > now:
            return Verdict.IN_PROGRESS
        self._leases.pop(key, None)
        return Verdict.HANDLED if key in self._seen else Verdict.NEW

    def _keep(self, key: str, now: float) -> None:
        while len(self._seen) >= self.max_entries:
            self._seen.popitem(last=False)
        self._seen[key] = now

    async def add(self, key: str) -> bool:
        now = time.monotonic()
        if self._verdict(key, now) is not Verdict.NEW:
            return False
        self._keep(key, now)
        return True

    async def claim(self, key: str, lease: float) -> Verdict:
        now = time.monotonic()
        verdict = self._verdict(key, now)
        if verdict is Verdict.NEW:
            self._leases[key] = now + lease
        return verdict

    async def renew(self, key: str, lease: float) -> bool:
        now = time.monotonic()
        if self._leases.get(key, -math.inf) <= now:
            return False
        self._leases[key] = now + lease
        return True

    async def settle(self, key: str) -> None:
        self._leases.pop(key, None)
        self._keep(key, time.monotonic())

    async def discard(self, key: str) -> None:
        self._seen.pop(key, None)
        self._leases.pop(key, None)


def delivery_key(event: Callback) -> str:
    """Same type, event and object state means the same delivery.

    A digest of the whole event, keys sorted: two payments to one invoice give two
    ``transaction_created`` events that differ in ``data``, so both are processed.
    """
    document = {"type": event.type, "event": str(event.event), "data": to_dict(event.data)}
    canonical = _json.dumps(_sorted(document))
    return f"{event.type}:{event.event}:{hashlib.sha256(canonical).hexdigest()}"


def state_key(event: Callback) -> str:
    """The object state an event carries: ``type:id:digest`` of the fields that change.

    A callback and a sweep that read the object back give the same key for the same
    state, whatever the event's name: an invoice's ``status``, ``status_context``,
    amounts and number of payments; a payment's or payout's ``status`` (and amount or
    ``txid``); a subscription's status and paid period. ``transaction_created`` and
    ``transaction_confirmed`` are kept apart from the state they report (a payment on
    its way, not a status). A ``type`` this release does not know is keyed as
    ``delivery_key`` keys it.
    """
    parts: tuple[object, ...]
    match event:
        case InvoiceCallback(data=invoice):
            parts = (
                invoice.status,
                invoice.status_context,
                invoice.paid_amount,
                invoice.pay_amount,
                len(invoice.transactions),
            )
            if event.event in (
                InvoiceCallbackEvent.TRANSACTION_CREATED,
                InvoiceCallbackEvent.TRANSACTION_CONFIRMED,
            ):
                parts = (event.event, *parts)
        case ChannelPaymentCallback(data=payment):
            parts = (payment.status, payment.status_context, payment.received_amount)
        case CoinWithdrawalCallback(data=withdrawal):
            parts = (withdrawal.status, withdrawal.txid)
        case SubscriptionCallback(data=subscription):
            parts = (
                subscription.status,
                subscription.current_period_starts_at.isoformat(),
                subscription.current_period_paid,
            )
        case UnknownCallback():
            return delivery_key(event)
    text = "|".join("" if part is None else str(part) for part in parts)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return f"{event.type}:{event.data.id}:{digest}"


def _sorted(value: object) -> object:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


class Deduplicator:
    """Decides whether an event's state is new, with a store and a key function.

    Shared by the receiver (``CallbackReceiver``, the framework helpers) and the
    ``CallbackSweeper``: whichever path sees a state first claims it, the other skips
    it. With a ``LeasingStore`` a claim lasts ``lease`` seconds past the handler's last
    renewal (``hold`` renews it while the handler runs) until ``handled`` keeps it;
    with a plain store the claim is kept at once and nothing is ever "in progress".
    """

    def __init__(
        self,
        store: DeliveryStore | None = None,
        key: Callable[[Callback], str] = state_key,
        *,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        if not (isinstance(lease, int | float) and math.isfinite(lease) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.store: DeliveryStore = store if store is not None else MemoryDeliveryStore()
        self.key = key
        self.lease: float = float(lease)

    async def claim(self, event: Callback) -> Verdict:
        """Claim ``event``'s state if it is new; otherwise say why not."""
        key = self.key(event)
        store = self.store
        if isinstance(store, LeasingStore):
            return await store.claim(key, self.lease)
        return Verdict.NEW if await store.add(key) else Verdict.HANDLED

    async def first_delivery(self, event: Callback) -> bool:
        """True the first time a state is seen (and claims it), False otherwise."""
        return await self.claim(event) is Verdict.NEW

    async def hold(self, event: Callback, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work`` (the handler) while renewing the claim on ``event``'s state.

        An ``Exception`` from ``work`` propagates unchanged (a ``BaseException`` such
        as ``KeyboardInterrupt`` comes wrapped in a ``BaseExceptionGroup``). A failed
        or lost renewal is logged and ``work`` goes on: its state may then be handed
        again elsewhere after ``lease`` seconds. Renewals run on the event loop, so a
        handler must not block it for ``lease`` seconds (use ``anyio.to_thread``).
        """
        store = self.store
        if not isinstance(store, LeasingStore):
            await work()
            return
        failure: Exception | None = None
        async with anyio.create_task_group() as renewals:
            renewals.start_soon(self._renew, store, self.key(event))
            try:
                await work()
            except Exception as exc:  # re-raised below, outside the task group
                failure = exc
            finally:
                renewals.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _renew(self, store: LeasingStore, key: str) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                held = await store.renew(key, self.lease)
            except Exception:
                logger.warning("could not renew the claim on %s; it may lapse", key, exc_info=True)
                continue
            if not held:
                logger.error(
                    "the claim on %s lapsed while its handler ran (was the event loop "
                    "blocked for the whole lease?): it may be handed again elsewhere",
                    key,
                )

    async def handled(self, event: Callback) -> None:
        """Keep the claim on ``event``'s state: its handler returned.

        Shielded from cancellation (a shutdown landing here would otherwise let the
        claim lapse and the state be handed again); the store's own timeout bounds it.
        """
        if isinstance(self.store, LeasingStore):
            with anyio.CancelScope(shield=True):
                await self.store.settle(self.key(event))

    async def forget(self, event: Callback) -> None:
        """Let the next delivery of ``event`` through again (its processing failed).

        Shielded from cancellation, as ``handled`` is.
        """
        with anyio.CancelScope(shield=True):
            await self.store.discard(self.key(event))
