"""An aiohttp shop: the client lives in ``cleanup_ctx``; callbacks are verified and deduplicated.

Run: ``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... CRYPTOPAY_CALLBACK_SECRET=...
python -m aiohttp.web -H 127.0.0.1 -P 8081 examples.aiohttp_app:make_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from aiohttp import web

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import Callback, InvoiceCallback
from cryptopay_async.integrations.aiohttp import callback_handler
from cryptopay_async.models import InvoiceStatus

CLIENT = web.AppKey("cryptopay", AsyncCryptopay)
PAID = web.AppKey("paid_orders", list[str])


async def cryptopay_client(app: web.Application) -> AsyncIterator[None]:
    async with AsyncCryptopay() as client:  # one client for the app's whole life
        app[CLIENT] = client
        yield


async def create_invoice(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    invoice = await client.invoices.create(
        price_amount=Decimal("10.00"),
        price_currency="EUR",
        pay_currency="BTC",
        custom_id=f"ORDER-{request.match_info['order_id']}",
    )
    return web.json_response({"invoice_id": invoice.id, "pay_url": invoice.hosted_page_url})


def make_app(argv: list[str] | None = None) -> web.Application:
    app = web.Application()
    app[PAID] = []

    async def on_callback(event: Callback) -> None:
        if isinstance(event, InvoiceCallback):
            current = await app[CLIENT].callbacks.refetch(event)
            if current.status is InvoiceStatus.COMPLETED:
                app[PAID].append(event.data.custom_id or event.data.id)

    app.cleanup_ctx.append(cryptopay_client)
    app.router.add_post("/orders/{order_id}/invoice", create_invoice)
    app.router.add_post(
        "/cryptopay/callbacks",
        callback_handler(on_callback, secret=lambda: app[CLIENT].callback_secret),
    )
    return app
