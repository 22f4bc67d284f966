"""Channels (permanent deposit addresses) and the payments that arrive on them.

As recorded (2023 sandbox list, callbacks): a completed payment carries ``exchange``
right after ``txid``; a pending or ``on_hold`` one has none, and its
``received_amount`` and ``fee`` are ``0.0``.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from cryptopay_async.testing._api.errors import JSON, not_found, not_in_list
from cryptopay_async.testing._api.fields import money, optional_text, required_text, timestamp
from cryptopay_async.testing._api.market import address
from cryptopay_async.testing._api.store import (
    HOSTED,
    PROJECT_ID,
    Answer,
    Store,
    custom_id_reader,
    lister,
    reader,
)

STATUSES = ["enabled", "disabled"]


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    market = store.market
    name = required_text(b, "name")
    pay_currency = market.currency(b, "pay_currency", crypto=True)
    receiver = market.currency(b, "receiver_currency")
    network = market.network(b, pay_currency)
    channel_id = store.new_id()
    to = address(network)
    channel: JSON = {
        "id": channel_id,
        "status": "enabled",
        "name": name,
        "description": optional_text(b, "description"),
        "receiver_currency": receiver,
        "pay_currency": pay_currency,
        "address": to,
        "network": network,
        "project_id": PROJECT_ID,
        "custom_id": optional_text(b, "custom_id"),
        "customer_id": optional_text(b, "customer_id"),
        "uri": f"{network}:{to}",
        "hosted_page_url": f"{HOSTED}/channels/{channel_id}",
    }
    return store.add("channels", channel, channel["custom_id"]), None


def update(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    channel = store.get("channels", p["channel_id"])
    if "status" in b and b["status"] not in STATUSES:
        raise not_in_list("status", STATUSES)
    changes: JSON = {}
    for field in ("description", "customer_id"):
        if field in b:
            changes[field] = optional_text(b, field)
    if "name" in b:
        changes["name"] = required_text(b, "name")
    if "status" in b:
        changes["status"] = b["status"]
    channel.update(changes)
    return channel, None


def list_payments(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    store.get("channels", p["channel_id"])
    return store.page("channel_payments", q, lambda x: x["channel_id"] == p["channel_id"])


def retrieve_payment(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    payment = store.get("channel_payments", p["channel_payment_id"])
    if payment["channel_id"] != p["channel_id"]:
        raise not_found()
    return payment, None


def pay(store: Store, channel_id: str, amount: Decimal, currency: str | None = None) -> JSON:
    """A transfer to a channel's address: created, then completed (or held if disabled).

    As recorded, the payment shows ``0.0`` received and no ``exchange`` until it is
    completed. ``ValueError`` for an amount that is not positive or a currency the
    channel does not take.
    """
    channel = store.get("channels", channel_id)
    market = store.market
    pay_currency, receiver = channel["pay_currency"], channel["receiver_currency"]
    if currency is not None and currency != pay_currency:
        raise ValueError(f"channel {channel_id} takes {pay_currency}, not {currency}")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"a payment must be a positive amount, not {amount}")
    payment: JSON = {
        "id": store.new_id(),
        "paid_amount": money(amount),
        "paid_currency": pay_currency,
        "received_amount": "0.0",
        "received_currency": receiver,
        "fee": "0.0",
        "fee_currency": receiver,
        "txid": secrets.token_hex(32),
        "status": "pending",
        "status_context": None,
        "refund_address": None,
        "coin_withdrawal_id": None,
        "custom_id": channel["custom_id"],
        "customer_id": channel["customer_id"],
        "channel_id": channel_id,
        "address": channel["address"],
        "network": channel["network"],
        "risk": None,
        "created_at": timestamp(store.now()),
    }
    store.add("channel_payments", payment)
    store.emit("ChannelPayment", "created", payment)
    if channel["status"] == "disabled":
        payment["status"], payment["status_context"] = "on_hold", "channel_disabled"
        store.emit("ChannelPayment", "on_hold", payment)
        return payment
    gross = market.amount_in(amount * market.rate(pay_currency, receiver), receiver)
    fee = market.amount_in(gross / 100, receiver)
    settled = dict(payment, received_amount=money(gross - fee), fee=money(fee), status="completed")
    fields = list(settled.items())
    exchange = ("exchange", market.exchange(pay_currency, receiver))
    payment.clear()  # in place: the store holds this dict
    payment.update([*fields[:8], exchange, *fields[8:]])  # after txid, as recorded
    store.move(
        "channel_payment_received",
        "ChannelPayment",
        payment,
        gross - fee,
        receiver,
        "completed",
        fee,
    )
    store.emit("ChannelPayment", "completed", payment)
    return payment


OPERATIONS = {
    "channels.create": create,
    "channels.retrieve": reader("channels", "channel_id"),
    "channels.retrieve_by_custom_id": custom_id_reader("channels"),
    "channels.list": lister("channels", "customer_id"),
    "channels.update": update,
    "channels.list_payments": list_payments,
    "channels.retrieve_payment": retrieve_payment,
}
