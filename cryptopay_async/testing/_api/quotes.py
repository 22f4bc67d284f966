"""Read-only operations over the reference data: rates, coins and risk scores."""

from __future__ import annotations

from cryptopay_async.testing._api.errors import JSON, not_found, not_in_list
from cryptopay_async.testing._api.fields import required_text
from cryptopay_async.testing._api.market import RISK_CURRENCIES
from cryptopay_async.testing._api.store import Answer, Store


def rates_all(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    return store.market.rates, None


def rates_retrieve(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    pair = store.market.rates.get(f"{p['base_currency']}/{p['quote_currency']}")
    if pair is None:
        raise not_found()
    return pair, None


def coins_list(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    return store.market.coins, None


def risks_score(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    currency = b.get("currency")
    if currency not in RISK_CURRENCIES:
        raise not_in_list("currency", RISK_CURRENCIES)
    level, score = (
        ("high", 9.1)
        if required_text(b, "address").startswith("risky")
        else (
            "medium",
            7.5,
        )
    )
    data = {
        "score": score,
        "level": level,
        "resource_name": "default",
        "resource_category": "unknown",
    }
    return data, None


OPERATIONS = {
    "rates.all": rates_all,
    "rates.retrieve": rates_retrieve,
    "coins.list": coins_list,
    "risks.score": risks_score,
}
