"""Coin withdrawals (payouts): two-step or forced, the 30-second commit window, completion.

Test hooks: an address starting with ``risky`` is refused as ``high_risk_address``, one
starting with ``invalid`` as ``invalid_coin_address``.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from cryptopay_async.testing._api.errors import (
    JSON,
    ApiError,
    invalid,
    invalid_address,
    not_in_list,
)
from cryptopay_async.testing._api.fields import (
    flag,
    money,
    optional_text,
    positive,
    required_text,
    timestamp,
)
from cryptopay_async.testing._api.market import FIAT
from cryptopay_async.testing._api.store import Answer, Store, custom_id_reader, lister, reader

HIGH_RISK_MESSAGE = (
    "We were unable to process your request as the address of the recipient may be "
    "associated with resource primarily used for unlawful activities"
)
AMOUNT_FIELDS = ("charged_amount", "charged_amount_to_send", "received_amount")
FEE_LEVELS = ["fast", "average", "slow"]
MINIMUM_FIAT = Decimal(5)


def create(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    market = store.market
    to = required_text(b, "address")
    if to.startswith("risky"):
        raise ApiError(422, "high_risk_address", HIGH_RISK_MESSAGE)
    charged_currency = market.currency(b, "charged_currency")
    received_currency = market.currency(b, "received_currency", crypto=True)
    if to.startswith("invalid"):
        raise invalid_address("address", received_currency)
    network = market.network(b, received_currency)
    given = [f for f in AMOUNT_FIELDS if b.get(f) is not None]
    if len(given) != 1:
        raise invalid("charged_amount", "exactly_one", "give exactly one amount")
    rate = market.rate(received_currency, charged_currency)
    level = b.get("network_fee_level") or "average"
    if level not in FEE_LEVELS:
        raise not_in_list("network_fee_level", FEE_LEVELS)
    network_fee = market.network_fee(received_currency, level)
    fee = market.amount_in(Decimal(1), charged_currency) if charged_currency in FIAT else Decimal(0)
    if given[0] == "received_amount":
        received = market.crypto_amount(positive(b, "received_amount"), received_currency)
        charged = market.amount_in(received * rate + fee, charged_currency)
    else:
        charged = positive(b, given[0])
        if given[0] == "charged_amount_to_send":
            charged = charged + fee
        received = market.crypto_amount((charged - fee) / rate - network_fee, received_currency)
    if (charged_currency in FIAT and charged < MINIMUM_FIAT) or received <= 0:
        raise invalid(
            given[0],
            "must_be_greater_than_or_equal",
            "must be greater than or equal to 5.0",
            value="5.0",
        )
    balance = store.balance(charged_currency)
    if charged > balance:
        raise invalid(
            given[0],
            "must_be_less_than_or_equal",
            f"must be less than or equal to {money(balance)}",
            value=money(balance),
        )
    force = flag(b, "force_commit")
    withdrawal: JSON = {
        "id": store.new_id(),
        "custom_id": optional_text(b, "custom_id"),
        "customer_id": optional_text(b, "customer_id"),
        "address": to,
        "network": network,
        "txid": None,
        "status": "pending" if force else "new",
        "charged_amount": money(charged),
        "charged_currency": charged_currency,
        "received_amount": money(received),
        "received_currency": received_currency,
        "network_fee": money(network_fee),
        "network_fee_level": level,
        "fee": "0.0",
        "fee_currency": received_currency,
        "description": None,
        "exchange": market.exchange(received_currency, charged_currency, fee),
        "risk": None,
        "created_at": timestamp(store.now(), zulu=not force),
    }
    store.add("coin_withdrawals", withdrawal, withdrawal["custom_id"])
    if force:
        _debit(store, withdrawal)
    store.emit("CoinWithdrawal", "created", withdrawal)
    return withdrawal, None


def _debit(store: Store, withdrawal: JSON) -> None:
    store.committed.add(withdrawal["id"])
    withdrawal["created_at"] = withdrawal["created_at"].replace("Z", "+00:00")
    store.move(
        "coin_withdrawal_sent",
        "CoinWithdrawal",
        withdrawal,
        -Decimal(withdrawal["charged_amount"]),
        withdrawal["charged_currency"],
        withdrawal["status"],
    )


def commit(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    withdrawal = store.get("coin_withdrawals", p["coin_withdrawal_id"])
    store.commit_once(withdrawal)
    if Decimal(withdrawal["charged_amount"]) > store.balance(withdrawal["charged_currency"]):
        balance = money(store.balance(withdrawal["charged_currency"]))
        raise invalid(
            "charged_amount",
            "must_be_less_than_or_equal",
            f"must be less than or equal to {balance}",
            value=balance,
        )
    withdrawal["status"] = "pending"
    _debit(store, withdrawal)
    store.emit("CoinWithdrawal", "status_changed", withdrawal)
    return withdrawal, None


def complete(store: Store, withdrawal_id: str) -> JSON:
    """The payout is broadcast and confirmed: ``pending`` (or ``failed``) → ``completed``."""
    withdrawal = store.get("coin_withdrawals", withdrawal_id)
    if withdrawal["status"] not in ("pending", "failed"):
        raise ValueError(f"withdrawal {withdrawal_id} is {withdrawal['status']}, not pending")
    withdrawal["status"], withdrawal["txid"] = "completed", secrets.token_hex(32)
    store.emit("CoinWithdrawal", "status_changed", withdrawal)
    return withdrawal


def fail(store: Store, withdrawal_id: str) -> JSON:
    """Something went wrong: ``pending`` → ``failed``; as documented, not final, no refund."""
    withdrawal = store.get("coin_withdrawals", withdrawal_id)
    if withdrawal["status"] != "pending":
        raise ValueError(f"withdrawal {withdrawal_id} is {withdrawal['status']}, not pending")
    withdrawal["status"] = "failed"
    store.emit("CoinWithdrawal", "status_changed", withdrawal)
    return withdrawal


def list_network_fees(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    market = store.market
    if q.get("all_networks") == "true":
        return market.network_fees, None
    defaults = [
        f
        for f in market.network_fees
        if f["network"] == market.default_network.get(f["currency"], f["network"])
    ]
    return defaults, None


OPERATIONS = {
    "coin_withdrawals.create": create,
    "coin_withdrawals.commit": commit,
    "coin_withdrawals.retrieve": reader("coin_withdrawals", "coin_withdrawal_id"),
    "coin_withdrawals.retrieve_by_custom_id": custom_id_reader("coin_withdrawals"),
    "coin_withdrawals.list": lister("coin_withdrawals", "customer_id"),
    "coin_withdrawals.list_network_fees": list_network_fees,
}
