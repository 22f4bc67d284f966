"""Value objects that several resources embed: exchange details and risk scores."""

from __future__ import annotations

from decimal import Decimal

import attrs

from cryptopay_async._converter import register_model
from cryptopay_async._enum import ApiEnum


class RiskLevel(ApiEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@register_model
@attrs.frozen(kw_only=True)
class Exchange:
    """The conversion applied to a payment: ``pair`` such as ``BTCEUR`` at ``rate``."""

    pair: str
    rate: Decimal
    fee: Decimal | None = None
    fee_currency: str | None = None


@register_model
@attrs.frozen(kw_only=True)
class Risk:
    """AML screening of a transaction; ``score`` is a JSON number, not money."""

    score: float
    level: RiskLevel | str
    resource_name: str | None = None
    resource_category: str | None = None
