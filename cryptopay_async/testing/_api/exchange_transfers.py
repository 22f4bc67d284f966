"""Exchange transfers between your accounts: two-step within 30 seconds, or forced."""

from __future__ import annotations

from decimal import Decimal

from cryptopay_async.testing._api.errors import JSON, invalid
from cryptopay_async.testing._api.fields import flag, money, optional_text, positive
from cryptopay_async.testing._api.market import FIAT
from cryptopay_async.testing._api.store import Answer, Store, reader


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    market = store.market
    charged_currency = market.currency(b, "charged_currency")
    received_currency = market.currency(b, "received_currency")
    given = [f for f in ("charged_amount", "received_amount") if b.get(f) is not None]
    if len(given) != 1:
        raise invalid("charged_amount", "exactly_one", "give exactly one amount")
    fee = Decimal(1) if charged_currency in FIAT else Decimal(0)
    if received_currency in FIAT:
        rate = Decimal(1) / market.rate(charged_currency, received_currency)
        pair = (charged_currency, received_currency)
    else:
        rate = market.rate(received_currency, charged_currency)
        pair = (received_currency, charged_currency)
    if given[0] == "charged_amount":
        charged = positive(b, "charged_amount")
        received = market.amount_in((charged - fee) / rate, received_currency)
    else:
        received = market.amount_in(positive(b, "received_amount"), received_currency)
        charged = market.amount_in(received * rate + fee, charged_currency)
    if received <= 0:
        raise invalid(given[0], "must_be_greater_than", "must be greater than the fee")
    force = flag(b, "force_commit")
    transfer: JSON = {
        "id": store.new_id(),
        "charged_amount": money(charged),
        "charged_currency": charged_currency,
        "received_amount": money(received),
        "received_currency": received_currency,
        "custom_id": optional_text(b, "custom_id"),
        "exchange": market.exchange(pair[0], pair[1], fee),
    }
    store.add("exchange_transfers", transfer, transfer["custom_id"])
    if force:
        _apply(store, transfer)
    return transfer, None


def _apply(store: Store, transfer: JSON) -> None:
    store.committed.add(transfer["id"])
    store.move(
        "exchange_debit",
        "ExchangeTransfer",
        transfer,
        -Decimal(transfer["charged_amount"]),
        transfer["charged_currency"],
        None,
    )
    store.move(
        "exchange_credit",
        "ExchangeTransfer",
        transfer,
        Decimal(transfer["received_amount"]),
        transfer["received_currency"],
        None,
    )


def commit(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    transfer = store.get("exchange_transfers", p["exchange_transfer_id"])
    store.commit_once(transfer)
    _apply(store, transfer)
    return transfer, None


OPERATIONS = {
    "exchange_transfers.create": create,
    "exchange_transfers.commit": commit,
    "exchange_transfers.retrieve": reader("exchange_transfers", "exchange_transfer_id"),
}
