"""Invoices: one-off payment requests with a unique address and a fixed amount."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from cryptopay_async._converter import register_model
from cryptopay_async._enum import ApiEnum
from cryptopay_async.models._shared import Exchange, Risk


class InvoiceStatus(ApiEnum):
    NEW = "new"
    COMPLETED = "completed"
    UNRESOLVED = "unresolved"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class InvoiceStatusContext(ApiEnum):
    OVERPAID = "overpaid"
    UNDERPAID = "underpaid"
    PAID_LATE = "paid_late"
    ILLICIT_RESOURCE = "illicit_resource"


@register_model
@attrs.frozen(kw_only=True)
class InvoiceTransaction:
    txid: str
    risk: Risk | None = None


@register_model
@attrs.frozen(kw_only=True)
class Invoice:
    """An invoice as the API returns it; callbacks omit some keys, which then read as None."""

    id: str
    status: InvoiceStatus | str
    address: str
    price_amount: Decimal
    price_currency: str
    pay_amount: Decimal
    pay_currency: str
    paid_amount: Decimal
    created_at: datetime
    expires_at: datetime
    status_context: InvoiceStatusContext | str | None = None
    custom_id: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    network: str | None = None
    uri: str | None = None
    fee: Decimal | None = None
    fee_currency: str | None = None
    exchange: Exchange | None = None
    transactions: list[InvoiceTransaction] = attrs.field(factory=list)
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    success_redirect_url: str | None = None
    unsuccess_redirect_url: str | None = None
    hosted_page_url: str | None = None
