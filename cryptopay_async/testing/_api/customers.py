"""Customers: your ids for your payers, with their refund addresses."""

from __future__ import annotations

from cryptopay_async.testing._api.errors import JSON, ApiError, invalid, invalid_address
from cryptopay_async.testing._api.fields import required_text
from cryptopay_async.testing._api.store import Answer, Store, lister, reader


def _addresses(store: Store, b: JSON) -> list[JSON]:
    addresses = b.get("addresses") or []
    if not isinstance(addresses, list):
        raise invalid("addresses", "must_be_array", "must be an array")
    networks = store.market.networks
    for index, item in enumerate(addresses):
        target = f"addresses[{index}]"
        if not isinstance(item, dict) or not {"address", "currency", "network"} <= set(item):
            raise invalid(target, "invalid_address", "needs address, currency and network")
        currency, network = item["currency"], item["network"]
        if not all(isinstance(v, str) for v in (item["address"], currency, network)):
            raise invalid(target, "invalid_address", "needs address, currency and network")
        if currency not in networks or network not in networks[currency]:
            raise invalid_address(target, currency)
    return [dict(a) for a in addresses]


def _refund_addresses(addresses: list[JSON]) -> dict[str, str]:
    return {a["currency"]: a["address"] for a in addresses}


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    customer_id = required_text(b, "id")
    if customer_id in store.objects["customers"]:
        raise ApiError(409, "duplicate_id", "duplicate id")
    currency = store.market.currency(b, "currency")
    addresses = _addresses(store, b)
    customer: JSON = {
        "id": customer_id,
        "currency": currency,
        "refund_addresses": _refund_addresses(addresses),
        "addresses": addresses,
    }
    return store.add("customers", customer), None


def update(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    customer = store.get("customers", p["customer_id"])
    currency = store.market.currency(b, "currency") if "currency" in b else customer["currency"]
    addresses = _addresses(store, b) if "addresses" in b else customer["addresses"]
    customer["currency"] = currency
    customer["addresses"] = addresses  # a given list replaces the old one
    customer["refund_addresses"] = _refund_addresses(addresses)
    return customer, None


OPERATIONS = {
    "customers.create": create,
    "customers.retrieve": reader("customers", "customer_id"),
    "customers.update": update,
    "customers.list": lister("customers"),
}
