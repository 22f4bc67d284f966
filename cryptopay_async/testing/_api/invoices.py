"""Invoices: create, read, list; payments, expiry, recalculations and refunds.

Time moves invoices too: one still ``new`` at its ``expires_at`` (10 minutes when priced
in fiat, 2 hours in crypto) is ``cancelled``; a payment after that is ``paid_late``.
"""

from __future__ import annotations

import heapq
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from cryptopay_async.testing._api.errors import JSON, invalid, not_found
from cryptopay_async.testing._api.fields import (
    flag,
    metadata,
    money,
    optional_text,
    positive,
    timestamp,
)
from cryptopay_async.testing._api.market import FIAT, address
from cryptopay_async.testing._api.store import (
    HOSTED,
    Answer,
    LedgerEntry,
    Store,
    custom_id_reader,
    lister,
    reader,
)

FIAT_LIFETIME = timedelta(minutes=10)
CRYPTO_LIFETIME = timedelta(hours=2)


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    market = store.market
    price = positive(b, "price_amount")
    price_currency = market.currency(b, "price_currency")
    pay_currency = market.currency(b, "pay_currency", crypto=True)
    network = market.network(b, pay_currency)
    rate = market.rate(pay_currency, price_currency)
    pay_amount = market.crypto_amount(price / rate, pay_currency)
    invoice_id = store.new_id()
    to = address(network)
    now = store.now()
    expires = now + (FIAT_LIFETIME if price_currency in FIAT else CRYPTO_LIFETIME)
    invoice: JSON = {
        "id": invoice_id,
        "custom_id": optional_text(b, "custom_id"),
        "customer_id": optional_text(b, "customer_id"),
        "subscription_id": None,
        "status": "new",
        "status_context": None,
        "address": to,
        "network": network,
        "uri": f"{network}:{to}?amount={money(pay_amount)}",
        "price_amount": money(price),
        "price_currency": price_currency,
        "pay_amount": money(pay_amount),
        "pay_currency": pay_currency,
        "fee": money(market.amount_in(price / 100, price_currency)),
        "fee_currency": price_currency,
        "paid_amount": "0.0",
        "exchange": market.exchange(pay_currency, price_currency),
        "transactions": [],
        "name": optional_text(b, "name"),
        "description": optional_text(b, "description"),
        "metadata": metadata(b),
        "success_redirect_url": optional_text(b, "success_redirect_url"),
        "unsuccess_redirect_url": optional_text(b, "unsuccess_redirect_url"),
        "hosted_page_url": f"{HOSTED}/invoices/{invoice_id}",
        "created_at": timestamp(now),
        "expires_at": timestamp(expires),
    }
    if pay_currency == price_currency:
        del invoice["exchange"]
    store.add("invoices", invoice, invoice["custom_id"])
    heapq.heappush(store.expiries, (expires, invoice_id))
    store.emit("Invoice", "created", invoice)
    return invoice, None


def expire_due(store: Store) -> None:
    """Cancel every invoice still ``new`` at its ``expires_at`` (emits ``status_changed``)."""
    now = store.now()
    while store.expiries and store.expiries[0][0] <= now:
        _, invoice_id = heapq.heappop(store.expiries)
        invoice = store.objects["invoices"].get(invoice_id)
        if invoice is not None and invoice["status"] == "new":
            invoice["status"] = "cancelled"
            store.emit("Invoice", "status_changed", invoice)


def next_expiry(store: Store) -> datetime | None:
    return store.expiries[0][0] if store.expiries else None


def pay(store: Store, invoice_id: str, amount: Decimal | None, *, late: bool) -> JSON:
    """A payment arrives on-chain and is confirmed: statuses move as the docs describe.

    ``ValueError`` when the invoice cannot take a payment (already paid or resolved).
    """
    invoice = store.get("invoices", invoice_id)
    expired = store.now() >= datetime.fromisoformat(invoice["expires_at"])
    if invoice["status"] != "new" and not (invoice["status"] == "cancelled" and expired):
        raise ValueError(f"invoice {invoice_id} is {invoice['status']}, not new")
    if amount is not None and (not amount.is_finite() or amount <= 0):
        raise ValueError(f"a payment must be a positive amount, not {amount}")
    paid = Decimal(invoice["paid_amount"]) + (
        Decimal(invoice["pay_amount"]) if amount is None else amount
    )
    invoice["paid_amount"] = money(paid)
    invoice["transactions"].append({"txid": secrets.token_hex(32), "risk": None})
    store.emit("Invoice", "transaction_created", invoice)
    store.emit("Invoice", "transaction_confirmed", invoice)
    due = Decimal(invoice["pay_amount"])
    if late or expired:
        invoice["status"], invoice["status_context"] = "unresolved", "paid_late"
    elif paid < due:
        invoice["status"], invoice["status_context"] = "unresolved", "underpaid"
    elif paid > due:
        invoice["status"], invoice["status_context"] = "unresolved", "overpaid"
    else:
        invoice["status"] = "completed"
        _credit(store, invoice)
    store.emit("Invoice", "status_changed", invoice)
    return invoice


def _credit(store: Store, invoice: JSON) -> None:
    fee = Decimal(invoice["fee"])
    credited = Decimal(invoice["price_amount"]) - fee
    store.move(
        "invoice_paid",
        "Invoice",
        invoice,
        credited,
        invoice["price_currency"],
        invoice["status"],
        fee,
    )


def _unresolved(store: Store, invoice_id: str) -> JSON:
    invoice = store.get("invoices", invoice_id)
    if invoice["status"] != "unresolved":
        raise invalid("invoice_id", "invalid_status", "invoice must be unresolved")
    return invoice


def create_recalculation(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    invoice = _unresolved(store, p["invoice_id"])
    market = store.market
    force = flag(b, "force_commit")
    pay_currency, price_currency = invoice["pay_currency"], invoice["price_currency"]
    rate = market.rate(pay_currency, price_currency)
    paid = Decimal(invoice["paid_amount"])
    new_price = market.amount_in(paid * rate, price_currency)
    recalculation: JSON = {
        "id": store.new_id(),
        "invoice_id": invoice["id"],
        "pay_amount": money(paid),
        "pay_currency": pay_currency,
        "price_amount": money(new_price),
        "price_currency": price_currency,
        "fee": money(market.amount_in(new_price / 100, price_currency)),
        "fee_currency": price_currency,
        "previous_pay_amount": invoice["pay_amount"],
        "previous_price_amount": invoice["price_amount"],
        "previous_exchange_rate": (invoice.get("exchange") or {}).get("rate"),
        "exchange": market.exchange(pay_currency, price_currency),
        "created_at": timestamp(store.now(), zulu=not force),
    }
    store.add("recalculations", recalculation)
    if force:
        _apply_recalculation(store, recalculation)
    return recalculation, None


def commit_recalculation(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    recalculation = store.get("recalculations", p["recalculation_id"])
    if recalculation["invoice_id"] != p["invoice_id"]:
        raise not_found()
    store.commit_once(recalculation)
    if store.get("invoices", p["invoice_id"])["status"] != "unresolved":
        raise invalid("invoice_id", "invalid_status", "invoice must be unresolved")
    _apply_recalculation(store, recalculation)
    return recalculation, None


def _apply_recalculation(store: Store, recalculation: JSON) -> None:
    store.committed.add(recalculation["id"])
    recalculation["created_at"] = recalculation["created_at"].replace("Z", "+00:00")
    invoice = store.get("invoices", recalculation["invoice_id"])
    for field in ("pay_amount", "price_amount", "fee"):
        invoice[field] = recalculation[field]
    invoice["exchange"] = recalculation["exchange"]
    invoice["status"], invoice["status_context"] = "completed", None
    _credit(store, invoice)
    store.emit("Invoice", "recalculated", invoice)
    store.emit("Invoice", "status_changed", invoice)


def create_refund(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    invoice = _unresolved(store, p["invoice_id"])
    pay_currency = invoice["pay_currency"]
    paid, due = Decimal(invoice["paid_amount"]), Decimal(invoice["pay_amount"])
    overpaid = invoice["status_context"] == "overpaid"
    amount = paid - due if overpaid else paid
    refund: JSON = {
        "id": store.new_id(),
        "custom_id": None,
        "invoice_id": invoice["id"],
        "amount": money(amount),
        "amount_currency": pay_currency,
        "fee": money(store.market.crypto_amount(amount / 100, pay_currency)),
        "fee_currency": pay_currency,
        "address": optional_text(b, "address"),
        "txid": None,
        "risk": None,
        "created_at": timestamp(store.now()),
        "network": invoice["network"],
    }
    store.add("refunds", refund)
    if overpaid:
        invoice["status"], invoice["status_context"] = "completed", None
        _credit(store, invoice)
    else:
        invoice["status"], invoice["status_context"] = "refunded", None
    store.ledger.append(
        LedgerEntry(
            "refund_sent", "InvoiceRefund", refund["id"], -amount, pay_currency, None, store.now()
        )
    )
    store.emit("Invoice", "refunded", invoice)
    store.emit("Invoice", "status_changed", invoice)
    return refund, None


def list_refunds(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    store.get("invoices", p["invoice_id"])
    refunds = [r for r in store.objects["refunds"].values() if r["invoice_id"] == p["invoice_id"]]
    return refunds, None


OPERATIONS = {
    "invoices.create": create,
    "invoices.retrieve": reader("invoices", "invoice_id"),
    "invoices.retrieve_by_custom_id": custom_id_reader("invoices"),
    "invoices.list": lister("invoices", "customer_id", "subscription_id"),
    "invoices.create_recalculation": create_recalculation,
    "invoices.commit_recalculation": commit_recalculation,
    "invoices.create_refund": create_refund,
    "invoices.list_refunds": list_refunds,
}
