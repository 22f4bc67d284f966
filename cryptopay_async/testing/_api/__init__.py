"""The emulated Cryptopay API: every operation of ``resources.OPERATIONS`` over one store.

One module per resource (``invoices``, ``channels``, ``coin_withdrawals``,
``customers``, ``exchange_transfers``, ``subscriptions``, ``accounts``, ``quotes``);
``store`` holds the state, ``market`` the reference data, ``fields`` and ``errors`` the
request reading and error answers they share. Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from cryptopay_async.testing._api import (
    accounts,
    channels,
    coin_withdrawals,
    customers,
    exchange_transfers,
    invoices,
    quotes,
    subscriptions,
)
from cryptopay_async.testing._api.errors import JSON, ApiError
from cryptopay_async.testing._api.market import Market
from cryptopay_async.testing._api.store import Answer, Event, LedgerEntry, Store

Handler = Callable[[Store, JSON, JSON, JSON], Answer]

HANDLERS: dict[str, Handler] = {
    **accounts.OPERATIONS,
    **channels.OPERATIONS,
    **coin_withdrawals.OPERATIONS,
    **customers.OPERATIONS,
    **exchange_transfers.OPERATIONS,
    **invoices.OPERATIONS,
    **quotes.OPERATIONS,
    **subscriptions.OPERATIONS,
}


class EmulatedApi:
    """Operations by name, the payer's and the chain's side (controls), and time."""

    def __init__(self, now: Callable[[], datetime], on_event: Callable[[Event], None]) -> None:
        self.store: Store = Store(Market(), now, on_event)

    @property
    def objects(self) -> dict[str, dict[str, JSON]]:
        """Every object by kind (``"invoices"``, ...) and id, as the API would return it."""
        return self.store.objects

    @property
    def ledger(self) -> list[LedgerEntry]:
        return self.store.ledger

    def call(self, operation: str, params: JSON, query: JSON, body: JSON) -> Answer:
        """Run one operation (``"invoices.create"``); raises ``ApiError`` for error answers.

        An operation the SDK declares but the emulator has no handler for (one just added
        to ``codegen/api/endpoints.json``) is a 501 naming it, not a crash.
        """
        handler = HANDLERS.get(operation)
        if handler is None:
            raise ApiError(501, "not_implemented", f"the emulator does not serve {operation}")
        self.tick()
        return handler(self.store, params, query, body)

    def tick(self) -> None:
        """Apply what the clock has made due: invoice expiry."""
        invoices.expire_due(self.store)

    def next_deadline(self) -> datetime | None:
        return invoices.next_expiry(self.store)

    def pay_invoice(self, invoice_id: str, amount: Decimal | None, *, late: bool) -> JSON:
        self.tick()
        return invoices.pay(self.store, invoice_id, amount, late=late)

    def pay_channel(self, channel_id: str, amount: Decimal, currency: str | None = None) -> JSON:
        self.tick()
        return channels.pay(self.store, channel_id, amount, currency)

    def complete_withdrawal(self, withdrawal_id: str) -> JSON:
        return coin_withdrawals.complete(self.store, withdrawal_id)

    def fail_withdrawal(self, withdrawal_id: str) -> JSON:
        return coin_withdrawals.fail(self.store, withdrawal_id)


__all__ = ["HANDLERS", "JSON", "ApiError", "EmulatedApi", "Event", "LedgerEntry"]
