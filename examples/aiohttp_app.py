"""An aiohttp shop: the client lives in ``cleanup_ctx``; callbacks are verified and deduplicated.

Each paid order is credited exactly once, however many callbacks arrive, in whatever
order and however often repeated: the handler reads the invoice back and credits when
the API says ``completed``, once per invoice id.

Run: ``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... CRYPTOPAY_CALLBACK_SECRET=...
python -m aiohttp.web -H 127.0.0.1 -P 8081 examples.aiohttp_app:make_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from aiohttp import web

from cryptopay_async import AsyncCryptopay, ConflictError
from cryptopay_async.callbacks import Callback, InvoiceCallback
from cryptopay_async.integrations.aiohttp import callback_handler
from cryptopay_async.models import Invoice, InvoiceStatus

CLIENT = web.AppKey("cryptopay", AsyncCryptopay)
CREDITED = web.AppKey("credited_invoices", set[str])
PAID = web.AppKey("paid_orders", list[str])  # the credits (your database in production)


async def cryptopay_client(app: web.Application) -> AsyncIterator[None]:
    async with AsyncCryptopay() as client:  # one client for the app's whole life
        app[CLIENT] = client
        yield


async def create_invoice(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    custom_id = f"ORDER-{request.match_info['order_id']}"
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
    return web.json_response({"invoice_id": invoice.id, "pay_url": invoice.hosted_page_url})


def make_app(argv: list[str] | None = None) -> web.Application:
    app = web.Application()
    app[CREDITED] = set()
    app[PAID] = []

    def credit_once(invoice: Invoice) -> None:
        """Once per invoice id; no ``await`` between the check and the write."""
        if invoice.id not in app[CREDITED]:
            app[CREDITED].add(invoice.id)
            app[PAID].append(invoice.custom_id or invoice.id)

    async def on_callback(event: Callback) -> None:
        if isinstance(event, InvoiceCallback):
            invoice = await app[CLIENT].callbacks.refetch(event)  # trust the API
            if invoice.status is InvoiceStatus.COMPLETED:
                credit_once(invoice)

    app.cleanup_ctx.append(cryptopay_client)
    app.router.add_post("/orders/{order_id}/invoice", create_invoice)
    app.router.add_post(
        "/cryptopay/callbacks",
        callback_handler(on_callback, secret=lambda: app[CLIENT].callback_secret, app=app),
    )
    return app
