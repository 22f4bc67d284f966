"""Reading request fields the way the API does, and writing amounts and times as it does.

Amounts are accepted as decimal strings (what the docs, Ruby and PHP send) and as JSON
numbers (what the Node and Java SDKs send): the body is parsed with ``Decimal`` for
numbers, so ``0.1`` stays exact. Anything else gets the 422 the API gives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptopay_async.testing._api.errors import JSON, invalid

# Larger than any payment can be; refusing it keeps huge exponents out of the arithmetic.
MAX_AMOUNT = Decimal("1e15")


def money(value: Decimal) -> str:
    """Decimals as the API writes them: no exponent, no trailing zeros, at least ``.0``."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def timestamp(when: datetime, *, zulu: bool = False) -> str:
    text = when.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


def decimal_of(raw: Any) -> Decimal | None:
    """A finite decimal from a decimal string or a JSON number (never a boolean)."""
    if isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, Decimal | int):
            value = Decimal(raw)
        elif isinstance(raw, str) and len(raw) <= 100:
            value = Decimal(raw.strip())
        else:
            return None
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def positive(body: JSON, field: str) -> Decimal:
    """A required amount greater than zero, or the 422 the API gives."""
    raw = body.get(field)
    if raw is None:
        raise invalid(field, "required", "is missing")
    value = decimal_of(raw)
    if value is None:
        raise invalid(field, "must_be_decimal", "must be a decimal number")
    if value <= 0:
        raise invalid(field, "must_be_greater_than", "must be greater than 0", value="0")
    if value >= MAX_AMOUNT:
        limit = money(MAX_AMOUNT)
        raise invalid(field, "must_be_less_than", f"must be less than {limit}", value=limit)
    return value


def required_text(body: JSON, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise invalid(field, "required", "is missing")
    return value


def optional_text(body: JSON, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid(field, "must_be_string", "must be a string")
    return value


def metadata(body: JSON) -> dict[str, str] | None:
    value = body.get("metadata")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid("metadata", "must_be_hash", "must be a map of strings")
    return dict(value)


def flag(body: JSON, field: str) -> bool:
    value = body.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(field, "must_be_boolean", "must be a boolean")
    return value


def when(source: JSON, field: str) -> datetime:
    try:
        found = datetime.fromisoformat(str(source[field]))
    except (KeyError, ValueError):
        raise invalid(field, "must_be_date_time", "must be an ISO 8601 date-time") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)
