"""``client.callbacks``: verification with the client's secret, and reading objects back."""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

from cryptopay_async.callbacks._events import Callback, UnknownCallback
from cryptopay_async.callbacks._verify import verify
from cryptopay_async.models import ChannelPayment, CoinWithdrawal, Invoice, Subscription
from cryptopay_async.models._callbacks import (
    ChannelPaymentCallback,
    CoinWithdrawalCallback,
    InvoiceCallback,
    SubscriptionCallback,
)

if TYPE_CHECKING:
    from cryptopay_async.resources import Resources


class ClientCallbacks:
    """Callback helpers bound to a client (``client.callbacks``)."""

    __slots__ = ("_resources", "_secret")

    def __init__(self, callback_secret: str | None, resources: Resources) -> None:
        self._secret = callback_secret
        self._resources = resources

    def verify(self, body: bytes | bytearray | memoryview | str, signature: str | None) -> Callback:
        """``cryptopay_async.callbacks.verify`` with the client's ``callback_secret``."""
        secret = self._secret
        if not secret:
            raise ValueError(
                "this client has no callback_secret: pass callback_secret=... to "
                "AsyncCryptopay or set the CRYPTOPAY_CALLBACK_SECRET environment variable"
            )
        return verify(body, signature, secret=secret)

    @overload
    async def refetch(self, event: InvoiceCallback) -> Invoice: ...
    @overload
    async def refetch(self, event: ChannelPaymentCallback) -> ChannelPayment: ...
    @overload
    async def refetch(self, event: CoinWithdrawalCallback) -> CoinWithdrawal: ...
    @overload
    async def refetch(self, event: SubscriptionCallback) -> Subscription: ...
    @overload
    async def refetch(
        self, event: Callback
    ) -> Invoice | ChannelPayment | CoinWithdrawal | Subscription: ...

    async def refetch(
        self, event: Callback
    ) -> Invoice | ChannelPayment | CoinWithdrawal | Subscription:
        """The object as the API holds it now: read it back before crediting anything.

        A callback is a notification, not proof: Cryptopay's docs ask merchants to fetch
        the object and act on what the API says. ``UnknownCallback`` raises ``TypeError``.
        """
        client = self._resources
        match event:
            case InvoiceCallback(data=invoice):
                return await client.invoices.retrieve(invoice.id)
            case ChannelPaymentCallback(data=payment):
                return await client.channels.retrieve_payment(payment.channel_id, payment.id)
            case CoinWithdrawalCallback(data=withdrawal):
                return await client.coin_withdrawals.retrieve(withdrawal.id)
            case SubscriptionCallback(data=subscription):
                return await client.subscriptions.retrieve(subscription.id)
            case UnknownCallback():
                raise TypeError(f"cannot refetch a callback of unknown type {event.type!r}")
        raise TypeError(f"cannot refetch {event!r}")
