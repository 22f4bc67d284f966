"""The API's resources, one class per ``client.<resource>`` attribute."""

from cryptopay_async.resources._base import Operation, Param, Resource
from cryptopay_async.resources._generated import (
    OPERATIONS,
    RESOURCE_NAMES,
    Accounts,
    Channels,
    Coins,
    CoinWithdrawals,
    Customers,
    ExchangeTransfers,
    Invoices,
    Rates,
    Resources,
    Risks,
    Subscriptions,
    Transactions,
)
from cryptopay_async.resources._recovery import CreateRecovery

__all__ = [
    "OPERATIONS",
    "RESOURCE_NAMES",
    "Accounts",
    "Channels",
    "CoinWithdrawals",
    "Coins",
    "Customers",
    "ExchangeTransfers",
    "Invoices",
    "Operation",
    "Param",
    "Rates",
    "Resource",
    "Resources",
    "Risks",
    "Subscriptions",
    "Transactions",
    "create_recovery",
]

_BY_NAME = {op.name: op for op in OPERATIONS}


def create_recovery(name: str) -> CreateRecovery:
    """How the create ``name`` (``"invoices.create"``) is read back by its custom_id."""
    recovery = _BY_NAME[name].recovery
    if not isinstance(recovery, CreateRecovery):
        raise ValueError(f"{name} is not a create that takes a custom_id")
    return recovery
