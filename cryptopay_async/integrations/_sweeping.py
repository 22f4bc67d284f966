"""What the framework helpers share: one receiver and one sweeper over one ``Deduplicator``,
and the sweeper running in the background for an app's life."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from cryptopay_async.callbacks import (
    CallbackReceiver,
    CallbackSweeper,
    Deduplicator,
    DeliveryStore,
)
from cryptopay_async.callbacks._receiver import Handler, SecretSource

SweeperSource = CallbackSweeper | Callable[[], CallbackSweeper]


def receiver_and_sweeper(
    handler: Handler,
    secret: SecretSource,
    deduplicator: Deduplicator | None,
    store: DeliveryStore | None,
    sweeper: SweeperSource | None,
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> CallbackReceiver:
    """The receiver, deduplicating with the sweeper's ``Deduplicator`` when none is given;
    with the ``otel`` extra its deliveries are SERVER spans (a framework receives them)."""
    if sweeper is not None and not (isinstance(sweeper, CallbackSweeper) or callable(sweeper)):
        raise TypeError("sweeper must be a CallbackSweeper or a function returning one")
    if isinstance(sweeper, CallbackSweeper) and deduplicator is None and store is None:
        deduplicator = sweeper.deduplicator
    receiver = CallbackReceiver(
        handler,
        secret=secret,
        deduplicator=deduplicator,
        store=store,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        span_kind="server",
    )
    if isinstance(sweeper, CallbackSweeper):
        shared(receiver, sweeper)
    return receiver


def shared(receiver: CallbackReceiver, sweeper: CallbackSweeper) -> None:
    if sweeper.deduplicator is not receiver.deduplicator:
        raise ValueError(
            "the callback receiver and the sweeper must share one Deduplicator, or each "
            "could hand a state the other handled: pass the sweeper's deduplicator"
        )


def check_every(every: float) -> float:
    if isinstance(every, bool) or not isinstance(every, int | float):
        raise ValueError(f"every must be a positive number of seconds, got {every!r}")
    if not (math.isfinite(every) and every > 0):
        raise ValueError(f"every must be a positive number of seconds, got {every!r}")
    return float(every)


@asynccontextmanager
async def sweeping(
    receiver: CallbackReceiver, source: SweeperSource, every: float
) -> AsyncIterator[CallbackSweeper]:
    """``sweeper.run(every=every)`` in a background task until the block ends."""
    sweeper = source if isinstance(source, CallbackSweeper) else source()
    shared(receiver, sweeper)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sweeper.run, every)
        try:
            yield sweeper
        finally:
            tg.cancel_scope.cancel()
