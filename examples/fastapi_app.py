"""A FastAPI shop: one client for the app's lifetime, invoices per order, verified callbacks.

Each paid order is credited exactly once, however many callbacks arrive, in whatever
order and however often repeated: the handler reads the invoice back and credits when
the API says ``completed``, once per invoice id.

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
from cryptopay_async.models import Invoice, InvoiceStatus


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One client for the whole app: it holds the connection pool and the rate limiter.
    async with AsyncCryptopay() as client:
        app.state.cryptopay = client
        app.state.credited = set()  # invoice ids whose order was credited
        app.state.paid_orders = []  # the credits themselves (your database in production)
        yield


app = FastAPI(lifespan=lifespan)


@app.post("/orders/{order_id}/invoice")
async def create_invoice(order_id: str, request: Request) -> dict[str, str | None]:
    client: AsyncCryptopay = request.app.state.cryptopay
    custom_id = f"ORDER-{order_id}"
    try:
        # A lost answer (timeout, 500) is settled by the SDK through the custom_id.
        invoice = await client.invoices.create(
            price_amount=Decimal("10.00"),
            price_currency="EUR",
            pay_currency="BTC",
            custom_id=custom_id,
        )
    except ConflictError:  # the order asked for its invoice before: show the same one
        invoice = await client.invoices.retrieve_by_custom_id(custom_id)
    return {"invoice_id": invoice.id, "pay_url": invoice.hosted_page_url}


def credit_once(invoice: Invoice) -> None:
    """Credit the invoice's order, once per invoice id.

    No ``await`` between the check and the write, so two events cannot both credit; with
    a database make it one statement (``INSERT ... ON CONFLICT (invoice_id) DO NOTHING``).
    """
    if invoice.id in app.state.credited:
        return
    app.state.credited.add(invoice.id)
    app.state.paid_orders.append(invoice.custom_id or invoice.id)


async def on_callback(event: Callback) -> None:
    """Called once per event; keep it short (Cryptopay waits at most 10 s for the 200)."""
    match event:
        case InvoiceCallback():
            invoice = await app.state.cryptopay.callbacks.refetch(event)  # trust the API
            if invoice.status is InvoiceStatus.COMPLETED:
                credit_once(invoice)
        case _:
            pass


app.include_router(callback_router(on_callback, secret=lambda: app.state.cryptopay.callback_secret))
