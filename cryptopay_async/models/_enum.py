"""What every model shares: str enums that tolerate values added after this release."""

from __future__ import annotations

from enum import StrEnum


class ApiEnum(StrEnum):
    """A set of values as documented today; an unknown value decodes to a plain ``str``."""
