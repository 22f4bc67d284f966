"""``CallbackSweeper``: find the object states whose callbacks never came, and hand them over.

Cryptopay gives up on a callback after about a day and a half, and no operation lists
events. A sweep reads the objects back instead and hands ``handler`` the event a
callback would have brought (``InvoiceCallback(event=STATUS_CHANGED, data=<invoice>)``)
for every state the application has not handled yet.

What is read, in this order (each step resumable from the checkpoint):

1. the ``transactions`` ledger since the horizon (``created_at_from``), which records
   every money movement: the invoices and payouts whose money moved recently;
2. ``invoices``, ``coin_withdrawals`` (newest first, until one older than the horizon)
   and ``subscriptions`` (all; there are few; offered when their period started or
   they were cancelled within the horizon), one list page of 50 per request;
3. ``channels`` (all) and each channel's ``payments`` until one older than the horizon;
4. one ``retrieve`` for each object the ledger named that the lists did not reach (an
   invoice created before the horizon and paid late, within it).

Cost of one sweep, in requests (before the client's retries), with ``L`` ledger rows in
the horizon, ``I`` invoices and ``W`` payouts created in it, ``S`` subscriptions, ``C``
channels with ``P_c`` payments in the horizon each, and ``G`` objects older than the
horizon whose money moved within it::

    ceil(L/50) + (floor(I/50) + 1) + (floor(W/50) + 1) + ceil(S/50)
      + ceil(C/50) + sum_c (floor(P_c/50) + 1) + G

so about ``(L + I) / 50`` for an account of invoices: 10,000 invoices, half of them
paid, cost about 300 requests, not 10,000 GETs. A list stops at the first object older
than the horizon, hence the ``+ 1`` page; an empty list costs one request.

What is remembered, and where: each handled state under its ``state_key`` in the
``Deduplicator``'s store, the same store and key the callback receiver uses, so
whichever path sees a state first claims it (an atomic add; a lease with the memory and
Redis stores) and the other skips it: a callback arriving after a sweep handled its
state is answered 200 without calling the handler, and a sweep hands no state whose
callback was handled. A handler that raised is forgotten and tried by the next sweep.
The checkpoint keeps only the sweep's progress (list, cursor, the ledger's leftovers).

Budget: the sweeper paces itself with a ``TokenBucket`` of ``share`` of the client's
limiter (its ``rate`` per ``period``; Cryptopay's 200 per minute when it has none), in
front of the client's own limiter, so other calls keep ``1 - share`` of the rate. One
``run_once`` sends at most ``max_requests`` (default: ``share`` of one period's rate),
then saves its place and returns; the next run continues there.

Hand-written: no library sweeps a payments API; the pacing is the SDK's own bucket.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import attrs

from cryptopay_async import _otel
from cryptopay_async.callbacks._checkpoint import Checkpoint, MemoryCheckpoint, State
from cryptopay_async.callbacks._dedupe import Deduplicator, Verdict
from cryptopay_async.callbacks._events import Callback
from cryptopay_async.models import ChannelPayment, CoinWithdrawal, Invoice, Subscription
from cryptopay_async.models._callbacks import (
    ChannelPaymentCallback,
    ChannelPaymentCallbackEvent,
    CoinWithdrawalCallback,
    CoinWithdrawalCallbackEvent,
    InvoiceCallback,
    InvoiceCallbackEvent,
    SubscriptionCallback,
    SubscriptionCallbackEvent,
)
from cryptopay_async.models._pagination import AsyncPager, Page
from cryptopay_async.ratelimit import DEFAULT_PERIOD, DEFAULT_RATE, TokenBucket

if TYPE_CHECKING:
    from cryptopay_async.middleware._limiter import RateLimiter
    from cryptopay_async.resources import (
        Channels,
        CoinWithdrawals,
        Invoices,
        Subscriptions,
        Transactions,
    )


class SweptClient(Protocol):
    """What a sweep reads through: an ``AsyncCryptopay`` (callbacks never import it)."""

    @property
    def invoices(self) -> Invoices: ...
    @property
    def coin_withdrawals(self) -> CoinWithdrawals: ...
    @property
    def subscriptions(self) -> Subscriptions: ...
    @property
    def channels(self) -> Channels: ...
    @property
    def transactions(self) -> Transactions: ...
    @property
    def rate_limiter(self) -> RateLimiter | None: ...


logger = logging.getLogger("cryptopay_async.callbacks.sweeper")

Handler = Callable[[Callback], Awaitable[object]]
T = TypeVar("T")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class _Listed(_HasId, Protocol):
    @property
    def created_at(self) -> datetime: ...


I = TypeVar("I", bound=_HasId)  # noqa: E741
L = TypeVar("L", bound=_Listed)

VERSION = 1
STEPS = ("ledger", "invoices", "coin_withdrawals", "subscriptions", "channels", "leftovers")
FOLLOWED = ("Invoice", "CoinWithdrawal")  # ledger references the sweeper can read back


@attrs.define
class SweepReport:
    """What one ``run_once`` did.

    ``events``: handed to the handler and handled; ``failed``: handed, but the handler
    raised (tried again next sweep); ``requests``: API requests sent; ``checked``:
    object states compared with the store; ``complete``: the sweep reached its end
    (False: it stopped at the budget and the next run continues where it stopped).
    """

    events: list[Callback] = attrs.field(factory=list)
    failed: list[Callback] = attrs.field(factory=list)
    requests: int = 0
    checked: int = 0
    complete: bool = False


class _BudgetSpent(Exception):
    """This run's requests are used up; the checkpoint says where to go on."""


def invoice_event(invoice: Invoice) -> InvoiceCallback:
    kind = InvoiceCallbackEvent.CREATED if invoice.status == "new" else None
    return InvoiceCallback(event=kind or InvoiceCallbackEvent.STATUS_CHANGED, data=invoice)


def withdrawal_event(withdrawal: CoinWithdrawal) -> CoinWithdrawalCallback:
    kind = CoinWithdrawalCallbackEvent.CREATED if withdrawal.status == "new" else None
    return CoinWithdrawalCallback(
        event=kind or CoinWithdrawalCallbackEvent.STATUS_CHANGED, data=withdrawal
    )


def payment_event(payment: ChannelPayment) -> ChannelPaymentCallback:
    status = str(payment.status)
    known = {e.value for e in ChannelPaymentCallbackEvent}
    kind = status if status in known else ChannelPaymentCallbackEvent.CREATED
    return ChannelPaymentCallback(event=ChannelPaymentCallbackEvent(kind), data=payment)


def subscription_event(subscription: Subscription) -> SubscriptionCallback | None:
    if str(subscription.status) == "cancelled":
        kind = SubscriptionCallbackEvent.CANCELLED
    elif subscription.current_period_paid:
        kind = SubscriptionCallbackEvent.PAID
    else:
        return None  # a state no callback reports
    return SubscriptionCallback(event=kind, data=subscription)


def limiter_rate(client: SweptClient) -> tuple[int, float]:
    """The client limiter's ``rate`` per ``period``, or Cryptopay's 200 per minute."""
    limiter = client.rate_limiter
    rate = getattr(limiter, "rate", DEFAULT_RATE)
    period = getattr(limiter, "period", DEFAULT_PERIOD)
    if not isinstance(rate, int) or not isinstance(period, int | float):
        return DEFAULT_RATE, DEFAULT_PERIOD
    return rate, float(period)


class CallbackSweeper:
    """Reads objects back and hands ``handler`` each state no callback brought.

    ``deduplicator`` must be the one the callback receiver uses (same store, same
    key); ``checkpoint`` keeps the progress (``FileCheckpoint``, ``RedisCheckpoint``;
    in memory by default). ``horizon``: how far back objects are followed (Cryptopay
    retries for about 1.5 days; two days by default). ``share`` (0 to 1): the fraction
    of the client's rate the sweeper may use. See the module docstring for the cost.
    With the ``otel`` extra each ``run_once`` is a span ``callback sweep`` whose
    children are its API calls (``tracer_provider``, else the global one, read here
    once); it records counts only.
    """

    def __init__(
        self,
        client: SweptClient,
        handler: Handler,
        *,
        deduplicator: Deduplicator | None = None,
        checkpoint: Checkpoint | None = None,
        horizon: timedelta = timedelta(days=2),
        share: float = 0.1,
        max_requests: int | None = None,
        channels: bool = True,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        if not isinstance(horizon, timedelta) or horizon <= timedelta(0):
            raise ValueError(f"horizon must be a positive timedelta, got {horizon!r}")
        if not (isinstance(share, int | float) and 0 < share <= 1):
            raise ValueError(f"share must be a fraction above 0 and up to 1, got {share!r}")
        if max_requests is not None and (
            isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1
        ):
            raise ValueError(f"max_requests must be a positive int, got {max_requests!r}")
        self.client = client
        self.handler = handler
        self.deduplicator: Deduplicator = (
            deduplicator if deduplicator is not None else Deduplicator()
        )
        ttl = getattr(self.deduplicator.store, "ttl", None)
        if isinstance(ttl, int | float) and ttl < horizon.total_seconds():
            raise ValueError(
                f"the store forgets a handled state after {ttl:g} s, before the horizon of "
                f"{horizon} ends: a sweep would hand it again; give the store a longer ttl"
            )
        self.checkpoint: Checkpoint = checkpoint if checkpoint is not None else MemoryCheckpoint()
        self.horizon = horizon
        self.share: float = float(share)
        rate, self._period = limiter_rate(client)
        self._rate = max(1, math.floor(rate * self.share))
        self.max_requests: int = max_requests if max_requests is not None else self._rate
        self.channels = channels
        self._bucket: TokenBucket | None = None
        self._telemetry = _otel.callback_telemetry(tracer_provider, meter_provider, server=False)

    def __repr__(self) -> str:
        return (
            f"CallbackSweeper(horizon={self.horizon}, share={self.share}, "
            f"checkpoint={self.checkpoint!r})"
        )

    def budget_for(self, every: float) -> int:
        """Requests one sweep may send when sweeps start every ``every`` seconds."""
        return max(1, math.floor(self._rate * every / self._period))

    async def run(self, every: float = 300.0) -> None:
        """Sweep every ``every`` seconds until cancelled; a failed sweep is logged.

        Each sweep may send ``share`` of the rate over ``every`` seconds, so a sweep
        that needs more continues in the next one.
        """
        if not (isinstance(every, int | float) and math.isfinite(every) and every > 0):
            raise ValueError(f"every must be a positive number of seconds, got {every!r}")
        budget = self.budget_for(every)
        while True:
            try:
                report = await self.run_once(max_requests=budget)
            except Exception:
                logger.exception("callback sweep failed; the next one starts where it stopped")
            else:
                logger.info(
                    "callback sweep: %d handed, %d failed, %d checked, %d requests%s",
                    len(report.events),
                    len(report.failed),
                    report.checked,
                    report.requests,
                    "" if report.complete else " (continues next time)",
                )
            await anyio.sleep(every)

    async def run_once(self, *, max_requests: int | None = None) -> SweepReport:
        """Go on with the sweep under way (or start one) until its end or the budget."""
        telemetry = self._telemetry
        if telemetry is None:
            return await self._run_once(max_requests)
        with telemetry.sweep() as traced:
            report = traced.report = await self._run_once(max_requests)
        return report

    async def _run_once(self, max_requests: int | None) -> SweepReport:
        budget = self.max_requests if max_requests is None else max_requests
        if self._bucket is None:
            self._bucket = TokenBucket(self._rate, self._period)
        state = await self.checkpoint.load() or {}
        sweep = state.get("sweep")
        if not isinstance(sweep, dict) or sweep.get("version") != VERSION:
            sweep = {"version": VERSION, "started": _now().isoformat(), "step": STEPS[0]}
        run = _Run(self, sweep, state, budget)
        try:
            await run.go()
        except _BudgetSpent:
            await run.save()
            return run.report
        state = {"sweep": None, "last_complete": sweep["started"]}
        await self.checkpoint.save(state)
        run.report.complete = True
        return run.report


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class _Run:
    """One ``run_once``: walks the steps from the checkpoint's place."""

    def __init__(self, sweeper: CallbackSweeper, sweep: State, state: State, budget: int) -> None:
        self.sweeper = sweeper
        self.client = sweeper.client
        self.sweep = sweep
        self.state = state
        self.budget = budget
        self.report = SweepReport()
        self.cutoff = datetime.fromisoformat(sweep["started"]) - sweeper.horizon
        # Ledger references not reached by a list yet: {kind: {id: 1}} (ordered, JSON).
        self.leftovers: dict[str, dict[str, int]] = sweep.setdefault(
            "leftovers", {kind: {} for kind in FOLLOWED}
        )

    async def save(self) -> None:
        await self.sweeper.checkpoint.save({**self.state, "sweep": self.sweep})

    async def request(self, call: Callable[..., Awaitable[T]], *args: Any) -> T:
        if self.report.requests >= self.budget:
            raise _BudgetSpent
        assert self.sweeper._bucket is not None
        await self.sweeper._bucket.acquire()
        self.report.requests += 1
        return await call(*args)

    async def offer(self, event: Callback | None) -> None:
        if event is None:
            return
        self.report.checked += 1
        dedupe = self.sweeper.deduplicator
        if await dedupe.claim(event) is not Verdict.NEW:
            return  # handled, or being handled now (a lapsed claim is offered next sweep)
        try:
            await dedupe.hold(event, lambda: self.sweeper.handler(event))
        except Exception:
            logger.exception("sweep handler failed for %s/%s", event.type, event.event)
            await dedupe.forget(event)
            self.report.failed.append(event)
            return
        await dedupe.handled(event)
        self.report.events.append(event)

    async def go(self) -> None:
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "ledger": self.ledger,
            "invoices": lambda: self.walk(self.client.invoices.list(), invoice_event),
            "coin_withdrawals": lambda: self.walk(
                self.client.coin_withdrawals.list(), withdrawal_event
            ),
            "subscriptions": lambda: self.walk(
                self.client.subscriptions.list(), self.subscription_in_horizon, cutoff=False
            ),
            "channels": self.channels,
            "leftovers": self.read_leftovers,
        }
        step = self.sweep.get("step", STEPS[0])
        while step in steps:
            await steps[step]()
            following = STEPS.index(step) + 1
            step = STEPS[following] if following < len(STEPS) else "done"
            self.sweep.update(step=step, cursor=None)
            await self.save()

    async def pages(self, pager: AsyncPager[I], key: str = "cursor") -> AsyncIterator[Page[I]]:
        """Pages from the checkpoint's cursor on; the cursor moves once a page is done."""
        while True:
            cursor = self.sweep.get(key)
            page = await self.request(pager.page_after, cursor)
            yield page
            if not page.has_more or not page.data:
                return
            self.sweep[key] = page.data[-1].id
            await self.save()

    async def walk(
        self,
        pager: AsyncPager[L],
        event_of: Callable[[L], Callback | None],
        *,
        cutoff: bool = True,
        key: str = "cursor",
    ) -> None:
        async for page in self.pages(pager, key):
            for item in page.data:
                if cutoff and item.created_at < self.cutoff:
                    return
                self._seen(item)
                await self.offer(event_of(item))

    def _seen(self, item: _Listed) -> None:
        kind = {Invoice: "Invoice", CoinWithdrawal: "CoinWithdrawal"}.get(type(item))
        if kind is not None:
            self.leftovers[kind].pop(item.id, None)

    async def ledger(self) -> None:
        pager = self.client.transactions.list(created_at_from=self.cutoff)
        async for page in self.pages(pager):
            for row in page.data:
                kind = str(row.reference_type)
                if kind in FOLLOWED:
                    self.leftovers[kind][row.reference_id] = 1

    def subscription_in_horizon(self, subscription: Subscription) -> Callback | None:
        """Its event, if its period started or it was cancelled within the horizon."""
        changed = max(subscription.current_period_starts_at, subscription.cancelled_at or _EPOCH)
        return subscription_event(subscription) if changed >= self.cutoff else None

    async def channels(self) -> None:
        if not self.sweeper.channels:
            return
        async for page in self.pages(self.client.channels.list(), key="channels_cursor"):
            done: list[str] = self.sweep.setdefault("channels_done", [])
            for channel in page.data:
                if channel.id in done:
                    continue
                payments = self.client.channels.list_payments(channel.id)
                await self.walk(payments, payment_event)
                done.append(channel.id)
                self.sweep["cursor"] = None
                await self.save()
            self.sweep["channels_done"] = []
        self.sweep.pop("channels_cursor", None)
        self.sweep.pop("channels_done", None)

    async def read_leftovers(self) -> None:
        readers: dict[str, Callable[[str], Awaitable[Any]]] = {
            "Invoice": self.client.invoices.retrieve,
            "CoinWithdrawal": self.client.coin_withdrawals.retrieve,
        }
        events: dict[str, Callable[[Any], Callback]] = {
            "Invoice": invoice_event,
            "CoinWithdrawal": withdrawal_event,
        }
        for kind in FOLLOWED:
            waiting = self.leftovers[kind]
            while waiting:
                object_id = next(iter(waiting))
                item = await self.request(readers[kind], object_id)
                await self.offer(events[kind](item))
                del waiting[object_id]
                await self.save()
