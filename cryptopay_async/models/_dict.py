"""Models back to JSON-ready values: ``to_dict``.

The inverse of decoding, for logging, storing or re-sending what the API returned: money
as the exact decimal string, timestamps as ISO 8601 with their offset, enums as their
value. It lives with the models (not with the decoding engines) so that every layer that
builds request bodies or stores events can use it without importing a decoder.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import cattrs

from cryptopay_async.models._enum import ApiEnum

_converter = cattrs.Converter()
_converter.register_unstructure_hook(Decimal, str)
_converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
# Before str in an enum's MRO: a field typed ``E | str`` would otherwise keep the member.
_converter.register_unstructure_hook(ApiEnum, lambda member: member.value)


def to_dict(model: Any) -> Any:
    """A JSON-ready value (dicts, lists, str, numbers, None) for a model or a list of them."""
    return _converter.unstructure(model)
