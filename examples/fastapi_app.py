"""A FastAPI shop: one client for the app's lifetime, invoices per order, verified callbacks.

Run: ``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... CRYPTOPAY_CALLBACK_SECRET=...
uvicorn examples.fastapi_app:app`` (add ``CRYPTOPAY_BASE_URL`` for the emulator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from fastapi import FastAPI, Request

from cryptopay_async import AsyncCryptopay, ConflictError
from cryptopay_async.callbacks import Callback, InvoiceCallback
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.models import InvoiceStatus


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One client for the whole app: it holds the connection pool and the rate limiter.
    async with AsyncCryptopay() as client:
        app.state.cryptopay = client
        app.state.paid_orders = []
        yield


app = FastAPI(lifespan=lifespan)


@app.post("/orders/{order_id}/invoice")
async def create_invoice(order_id: str, request: Request) -> dict[str, str | None]:
    client: AsyncCryptopay = request.app.state.cryptopay
    custom_id = f"ORDER-{order_id}"
    try:
        invoice = await client.invoices.create(
            price_amount=Decimal("10.00"),
            price_currency="EUR",
            pay_currency="BTC",
            custom_id=custom_id,
        )
    except ConflictError:  # created before (a retry by the browser): read it back
        invoice = await client.invoices.retrieve_by_custom_id(custom_id)
    return {"invoice_id": invoice.id, "pay_url": invoice.hosted_page_url}


async def on_callback(event: Callback) -> None:
    """Called once per event; keep it short (Cryptopay waits at most 10 s for the 200)."""
    match event:
        case InvoiceCallback(data=invoice):
            current = await app.state.cryptopay.callbacks.refetch(event)  # trust the API
            if current.status is InvoiceStatus.COMPLETED:
                app.state.paid_orders.append(invoice.custom_id or invoice.id)
        case _:
            pass


app.include_router(callback_router(on_callback, secret=lambda: app.state.cryptopay.callback_secret))
