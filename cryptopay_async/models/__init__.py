"""Typed, immutable models of everything the Cryptopay API returns."""

from cryptopay_async._converter import to_dict
from cryptopay_async._enum import ApiEnum
from cryptopay_async._pagination import Page
from cryptopay_async.models._invoices import (
    Invoice,
    InvoiceStatus,
    InvoiceStatusContext,
    InvoiceTransaction,
)
from cryptopay_async.models._shared import Exchange, Risk, RiskLevel

__all__ = [
    "ApiEnum",
    "Exchange",
    "Invoice",
    "InvoiceStatus",
    "InvoiceStatusContext",
    "InvoiceTransaction",
    "Page",
    "Risk",
    "RiskLevel",
    "to_dict",
]
