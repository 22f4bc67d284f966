"""Subscriptions (e-mail billing): create, read, list, cancel. Billing periods do not run."""

from __future__ import annotations

from datetime import timedelta

from cryptopay_async.testing._api.errors import JSON, invalid, not_in_list
from cryptopay_async.testing._api.fields import (
    money,
    optional_text,
    positive,
    required_text,
    timestamp,
    when,
)
from cryptopay_async.testing._api.store import Answer, Store, custom_id_reader, lister, reader

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
EARLIEST_START = timedelta(days=3)


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    name = required_text(b, "name")
    amount = positive(b, "amount")
    period = b.get("period")
    if period not in PERIOD_DAYS:
        raise not_in_list("period", list(PERIOD_DAYS))
    quantity = b.get("period_quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1000:
        raise invalid(
            "period_quantity",
            "must_be_greater_than_or_equal",
            "must be greater than or equal to 1",
            value=1,
        )
    starts = when(b, "starts_at")
    now = store.now()
    if starts < now + EARLIEST_START - timedelta(minutes=1):
        earliest = timestamp(now + EARLIEST_START)
        raise invalid(
            "starts_at",
            "must_be_greater_than_or_equal",
            "must be at least 3 days from now",
            value=earliest,
        )
    length = timedelta(days=PERIOD_DAYS[period] * quantity)
    try:
        ends = timestamp(starts + length)
    except OverflowError:
        raise invalid("starts_at", "must_be_date_time", "is too far in the future") from None
    subscription: JSON = {
        "id": store.new_id(),
        "status": "active",
        "custom_id": optional_text(b, "custom_id"),
        "name": name,
        "amount": money(amount),
        "currency": store.market.currency(b, "currency"),
        "period": period,
        "period_quantity": quantity,
        "current_period_starts_at": timestamp(starts),
        "current_period_ends_at": ends,
        "current_period_paid": False,
        "payer_email": required_text(b, "payer_email"),
        "payer_name": optional_text(b, "payer_name"),
        "product_name": optional_text(b, "product_name"),
        "product_description": optional_text(b, "product_description"),
        "success_redirect_url": optional_text(b, "success_redirect_url"),
        "unsuccess_redirect_url": optional_text(b, "unsuccess_redirect_url"),
        "created_at": timestamp(now),
        "cancelled_at": None,
    }
    return store.add("subscriptions", subscription, subscription["custom_id"]), None


def cancel(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    subscription = store.get("subscriptions", p["subscription_id"])
    if subscription["status"] != "cancelled":
        subscription["status"] = "cancelled"
        subscription["cancelled_at"] = timestamp(store.now())
        store.emit("Subscription", "cancelled", subscription)
    return subscription, None


OPERATIONS = {
    "subscriptions.create": create,
    "subscriptions.retrieve": reader("subscriptions", "subscription_id"),
    "subscriptions.retrieve_by_custom_id": custom_id_reader("subscriptions"),
    "subscriptions.list": lister("subscriptions"),
    "subscriptions.cancel": cancel,
}
