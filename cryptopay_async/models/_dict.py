"""Models back to JSON-ready values: ``to_dict``.

The inverse of decoding, for logging, storing or re-sending what the API returned: money
as the exact decimal string, timestamps as ISO 8601 with their offset, enums as their
value. It lives with the models (not with the decoding engines) so that every layer that
builds request bodies or stores events can use it without importing a decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn

from cryptopay_async.models._base import ApiModel
from cryptopay_async.models._enum import ApiEnum

_converter = cattrs.Converter()
_converter.register_unstructure_hook(Decimal, str)
_converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
# Before str in an enum's MRO: a field typed ``E | str`` would otherwise keep the member.
_converter.register_unstructure_hook(ApiEnum, lambda member: member.value)


def _with_extra_fields(cls: type) -> Callable[[Any], Any]:
    fields: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, _converter)

    def unstructure(model: Any) -> Any:
        result = fields(model)
        extra = model.extra_fields
        if extra:  # JSON-ready like the rest: a Decimal among them becomes its string
            result.update(_json_ready(dict(extra)))
        return result

    return unstructure


def _json_ready(document: dict[str, Any]) -> dict[str, Any]:
    """``document``, a fresh dict of raw JSON values, with each ``Decimal`` in it as its
    string; the containers inside are replaced by converted copies, never changed.

    Without recursion: a server can nest an unknown value as deep as the parsers accept,
    which a recursive copy (cattrs' unstructuring) would not survive.
    """
    pending: list[dict[Any, Any] | list[Any]] = [document]
    while pending:
        container = pending.pop()
        entries = container.items() if container.__class__ is dict else enumerate(container)
        for key, value in list(entries):
            if value.__class__ is Decimal:
                container[key] = str(value)
            elif value.__class__ is dict or value.__class__ is list:
                container[key] = value = value.copy()
                pending.append(value)
    return document


_converter.register_unstructure_hook_factory(
    lambda cls: isinstance(cls, type) and issubclass(cls, ApiModel), _with_extra_fields
)


def to_dict(model: Any) -> Any:
    """A JSON-ready value (dicts, lists, str, numbers, None) for a model or a list of
    them; a model's ``extra_fields`` come back with its other keys."""
    return _converter.unstructure(model)
