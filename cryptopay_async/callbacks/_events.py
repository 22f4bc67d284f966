"""Typed callback events: a class per ``type``, each with an ``event`` enum and a ``data`` model."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from cryptopay_async._enum import ApiEnum
from cryptopay_async.models import ChannelPayment, CoinWithdrawal, Invoice, Subscription


class InvoiceCallbackEvent(ApiEnum):
    CREATED = "created"
    REFUNDED = "refunded"
    RECALCULATED = "recalculated"
    STATUS_CHANGED = "status_changed"
    TRANSACTION_CREATED = "transaction_created"
    TRANSACTION_CONFIRMED = "transaction_confirmed"


class ChannelPaymentCallbackEvent(ApiEnum):
    CREATED = "created"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class CoinWithdrawalCallbackEvent(ApiEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"


class SubscriptionCallbackEvent(ApiEnum):
    PAID = "paid"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class InvoiceCallback:
    """An invoice changed: payment seen, confirmed, status changed, refunded, ..."""

    type: ClassVar[str] = "Invoice"
    event: InvoiceCallbackEvent | str
    data: Invoice


@attrs.frozen(kw_only=True)
class ChannelPaymentCallback:
    """A payment arrived on a channel, or its status moved (completed, on hold, ...)."""

    type: ClassVar[str] = "ChannelPayment"
    event: ChannelPaymentCallbackEvent | str
    data: ChannelPayment


@attrs.frozen(kw_only=True)
class CoinWithdrawalCallback:
    """A payout was created or its status changed."""

    type: ClassVar[str] = "CoinWithdrawal"
    event: CoinWithdrawalCallbackEvent | str
    data: CoinWithdrawal


@attrs.frozen(kw_only=True)
class SubscriptionCallback:
    """A subscription period was paid, or the subscription was cancelled."""

    type: ClassVar[str] = "Subscription"
    event: SubscriptionCallbackEvent | str
    data: Subscription


@attrs.frozen(kw_only=True)
class UnknownCallback:
    """A callback ``type`` this release does not know; ``data`` is the raw JSON object."""

    type: str
    event: str
    data: dict[str, Any]


Callback = (
    InvoiceCallback
    | ChannelPaymentCallback
    | CoinWithdrawalCallback
    | SubscriptionCallback
    | UnknownCallback
)
"""Whatever ``verify`` returns; match on the class to handle each kind."""

KNOWN_CALLBACKS: dict[str, type[Any]] = {
    cls.type: cls
    for cls in (
        InvoiceCallback,
        ChannelPaymentCallback,
        CoinWithdrawalCallback,
        SubscriptionCallback,
    )
}
