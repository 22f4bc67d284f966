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
]
