"""Reference data: rates, coins, networks and network fees, and amounts rounded as quoted.

The data files are sandbox answers (``testing/data``); they are read once per process.
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
from decimal import ROUND_DOWN, Decimal
from importlib import resources
from typing import Any

from cryptopay_async.testing._api.errors import JSON, invalid, not_in_list
from cryptopay_async.testing._api.fields import money

FIAT = {"EUR", "USD", "GBP", "JPY", "CNY", "RUB", "TRY", "UAH", "AUD", "CAD", "CHF"}
RISK_CURRENCIES = ["BTC", "LTC", "XRP", "ETH", "BCH"]  # in the order of the recorded message


@functools.cache
def _data(name: str) -> Any:
    """A recorded answer from ``data/`` (the shared fixtures, verbatim; tests read them too)."""
    text = resources.files("cryptopay_async.testing").joinpath(f"data/{name}").read_text()
    return json.loads(text)


def starting_accounts() -> dict[str, JSON]:
    """The sandbox accounts, funded so payouts and transfers can be tried."""
    accounts = {
        a["currency"]: dict(a)
        for a in copy.deepcopy(_data("responses-2023/accounts/list.json")["data"])
    }
    for currency, balance in {"EUR": "100000.0", "BTC": "10.0", "USDT": "100000.0"}.items():
        accounts[currency]["balance"] = balance
    return accounts


class Market:
    """What Cryptopay quotes: pairs and rates, coins with their networks and precision."""

    def __init__(self) -> None:
        self.rates: dict[str, JSON] = _data("responses-2023/rates/all.json")["data"]
        self.coins: list[JSON] = _data("responses-2023/coins/list.json")["data"]
        self.network_fees: list[JSON] = _data(
            "responses-2023/coin_withdrawals/list_network_fees.json"
        )["data"]
        self.precision: dict[Any, Any] = {
            coin["currency"]: coin["networks"][0]["precision"] for coin in self.coins
        }
        self.default_network: dict[Any, Any] = {
            coin["currency"]: coin["networks"][0]["network"] for coin in self.coins
        }
        self.networks: dict[Any, set[Any]] = {
            c["currency"]: {n["network"] for n in c["networks"]} for c in self.coins
        }

    def rate(self, base: str, quote: str) -> Decimal:
        if base == quote:
            return Decimal(1)
        pair = self.rates.get(f"{base}/{quote}")
        if pair is None:
            raise invalid("currency", "unsupported_pair", f"{base}/{quote} is not supported")
        return Decimal(pair["buy_rate"])

    def crypto_amount(self, value: Decimal, currency: str) -> Decimal:
        places = Decimal(1).scaleb(-self.precision.get(currency, 8))
        return value.quantize(places, rounding=ROUND_DOWN)

    @staticmethod
    def fiat_amount(value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    def amount_in(self, value: Decimal, currency: str) -> Decimal:
        return self.fiat_amount(value) if currency in FIAT else self.crypto_amount(value, currency)

    def currency(self, body: JSON, field: str, *, crypto: bool = False) -> str:
        value = body.get(field)
        allowed = sorted(self.precision) if crypto else sorted(FIAT | set(self.precision))
        if not isinstance(value, str) or value not in allowed:
            raise not_in_list(field, allowed)
        return value

    def network(self, body: JSON, currency: str) -> str:
        network = body.get("network") or self.default_network[currency]
        if not isinstance(network, str) or network not in self.networks[currency]:
            raise not_in_list("network", sorted(self.networks[currency]))
        return network

    def exchange(self, pay: str, price: str, fee: Decimal = Decimal(0)) -> JSON:
        return {
            "pair": f"{pay}{price}",
            "rate": money(self.rate(pay, price)),
            "fee": money(fee),
            "fee_currency": price,
        }

    def network_fee(self, currency: str, level: str) -> Decimal:
        for fee in self.network_fees:
            if fee["currency"] == currency and fee["level"] == level:
                return Decimal(fee["fee"])
        return Decimal(0)


def address(network: str) -> str:
    """A fresh deposit address of the network's shape."""
    if network in ("ethereum", "bnb_smart_chain"):
        return "0x" + secrets.token_hex(20)
    return "2N" + secrets.token_hex(16)
