"""A FastAPI shop that credits every paid invoice once, even when callbacks are lost.

Callbacks and a background sweep feed one handler. Both remember what was handled in
Redis (one key per object state), the sweep keeps its place in a checkpoint file, and
credits go to a SQLite table whose primary key is the invoice id (your database in
production). Restart it, kill it, run four workers: nothing is credited twice, nothing
paid is missed.

Run: ``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... CRYPTOPAY_CALLBACK_SECRET=...
uvicorn --factory examples.catching_up:make_app`` (Redis on 127.0.0.1:6379, or set
``SHOP_REDIS_URL``; ``CRYPTOPAY_BASE_URL`` for the emulator).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import (
    Callback,
    CallbackSweeper,
    Deduplicator,
    FileCheckpoint,
    InvoiceCallback,
    RedisDeliveryStore,
    state_key,
)
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.models import InvoiceStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS credits (
    invoice_id TEXT PRIMARY KEY, custom_id TEXT, amount TEXT, currency TEXT
);
CREATE TABLE IF NOT EXISTS handled (state TEXT, type TEXT, object_id TEXT, status TEXT);
"""


def make_app(
    *,
    database: str | None = None,
    redis_url: str | None = None,
    checkpoint: str | None = None,
    every: float = 300.0,
    lease: float = 30.0,
    **client_options: Any,
) -> FastAPI:
    """The shop; arguments default to ``SHOP_DATABASE``, ``SHOP_REDIS_URL``, ``SHOP_CHECKPOINT``.

    ``lease``: seconds after which a state claimed by a worker that died mid-handler is
    handed again (a live handler renews its claim while it runs).
    """
    db = sqlite3.connect(
        database or os.environ.get("SHOP_DATABASE", "shop.sqlite3"),
        isolation_level=None,  # each statement commits on its own
        check_same_thread=False,
    )
    db.executescript(SCHEMA)
    store = RedisDeliveryStore(
        redis_url or os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379")
    )
    # One for callbacks and sweeps: each state is handled once.
    dedupe = Deduplicator(store, lease=lease)
    sweep_file = FileCheckpoint(checkpoint or os.environ.get("SHOP_CHECKPOINT", "sweep.json"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncCryptopay(**client_options) as client:
            app.state.cryptopay = client
            yield

    app = FastAPI(lifespan=lifespan)

    async def on_event(event: Callback) -> None:
        """Called once per object state, from a callback or from a sweep."""
        status = str(getattr(event.data, "status", ""))
        object_id = str(getattr(event.data, "id", ""))
        db.execute(
            "INSERT INTO handled VALUES (?, ?, ?, ?)",
            (state_key(event), event.type, object_id, status),
        )
        if isinstance(event, InvoiceCallback) and event.data.status is InvoiceStatus.COMPLETED:
            invoice = event.data
            # Completed is final; one statement, so a credit cannot happen twice.
            db.execute(
                "INSERT INTO credits VALUES (?, ?, ?, ?) ON CONFLICT (invoice_id) DO NOTHING",
                (invoice.id, invoice.custom_id, str(invoice.price_amount), invoice.price_currency),
            )

    def sweeper() -> CallbackSweeper:  # built once the lifespan opened the client
        return CallbackSweeper(
            app.state.cryptopay,
            on_event,
            deduplicator=dedupe,
            checkpoint=sweep_file,
            horizon=timedelta(days=2),
            share=0.1,  # at most a tenth of the rate limit; payments keep the rest
        )

    app.include_router(
        callback_router(
            on_event,
            secret=lambda: app.state.cryptopay.callback_secret,
            deduplicator=dedupe,
            sweeper=sweeper,
            every=every,
        )
    )
    return app
