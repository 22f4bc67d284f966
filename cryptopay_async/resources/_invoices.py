"""``client.invoices``: create, read and list invoices."""

from __future__ import annotations

from decimal import Decimal

from cryptopay_async import _arguments as arg
from cryptopay_async import _json
from cryptopay_async._pagination import AsyncPager
from cryptopay_async.models import Invoice
from cryptopay_async.resources._base import Resource


class Invoices(Resource):
    __slots__ = ()

    async def retrieve(self, invoice_id: str, /) -> Invoice:
        """The invoice with this Cryptopay id. Raises ``NotFoundError`` for an unknown id."""
        target = f"/api/invoices/{arg.path_segment(arg.identifier('invoice_id', invoice_id))}"
        result: Invoice = await self._fetch("GET", target, Invoice, "Invoice")
        return result

    async def create(
        self,
        *,
        price_amount: Decimal | str | int,
        price_currency: str,
        pay_currency: str,
        network: str | None = None,
        custom_id: str | None = None,
        customer_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        success_redirect_url: str | None = None,
        unsuccess_redirect_url: str | None = None,
        payer_email: str | None = None,
    ) -> Invoice:
        """Create an invoice. A reused ``custom_id`` raises ``ConflictError``."""
        body: dict[str, object] = {
            "price_amount": arg.amount("price_amount", price_amount),
            "price_currency": arg.text("price_currency", price_currency),
            "pay_currency": arg.text("pay_currency", pay_currency),
        }
        optional = {
            "network": network,
            "custom_id": custom_id,
            "customer_id": customer_id,
            "name": name,
            "description": description,
            "success_redirect_url": success_redirect_url,
            "unsuccess_redirect_url": unsuccess_redirect_url,
            "payer_email": payer_email,
        }
        body.update({k: arg.text(k, v) for k, v in optional.items() if v is not None})
        if metadata is not None:
            body["metadata"] = arg.string_map("metadata", metadata)
        result: Invoice = await self._fetch(
            "POST", "/api/invoices", Invoice, "Invoice", _json.dumps(body)
        )
        return result

    def list(
        self, *, customer_id: str | None = None, subscription_id: str | None = None
    ) -> AsyncPager[Invoice]:
        """``await`` it for the first page; ``async for`` it for every invoice, newest first."""
        query: dict[str, object] = {
            "customer_id": None if customer_id is None else arg.text("customer_id", customer_id),
            "subscription_id": None
            if subscription_id is None
            else arg.text("subscription_id", subscription_id),
        }
        return self._pages("/api/invoices", query, Invoice)
