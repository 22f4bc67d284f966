"""The cattrs converter: JSON values in, frozen models out, and back to JSON-ready dicts.

This is the decoding engine of the core install (``_engines.py`` picks msgspec instead
when the ``speedups`` extra is installed; both keep the same contract, checked by the same
tests). Built once at import:

- money becomes ``Decimal``: from a JSON string, an integer, or a JSON number the parser
  kept as its exact text (``json.loads(parse_float=Decimal)``); a binary ``float``, ``NaN``
  and infinities are refused;
- timestamps become aware ``datetime`` (``+00:00``, ``Z``, ``+0000`` and fractions
  accepted; a naive one is read as UTC);
- enum fields keep unknown values as plain ``str`` so a new server release cannot break a
  running integration; unknown keys are kept for ``extra_fields`` (``models/_base.py``):
  each model keeps the JSON object it was built from (one slot assignment), whose
  unknown keys are picked out when first asked for;
- lists and mappings stop at their first bad element: a malformed body costs time and
  memory proportional to its size, and the error names one path (``$.data[3].pay_amount``)
  instead of collecting one exception per element.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from cryptopay_async.models import _callbacks, _generated
from cryptopay_async.models._enum import ApiEnum

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True)
_set = object.__setattr__

_PREVIEW = 40


def preview(value: Any) -> str:
    """A short repr for error messages: a huge string value never ends up in one."""
    text = repr(value) if not isinstance(value, list | dict) else type(value).__name__
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


# The scalar hooks test exact classes (what a JSON parser produces; ``bool`` is not
# ``int`` here): they run once per field of every model, the bulk of this engine's time.
_DECIMAL_SOURCES = frozenset({str, int, Decimal})


def _decimal(value: Any, _: Any = None) -> Decimal:
    if value.__class__ in _DECIMAL_SOURCES:
        try:
            result = Decimal(typing.cast("str | int | Decimal", value))
        except InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    raise ValueError(f"expected a finite decimal string, got {preview(value)}")


def _optional_decimal(value: Any, _: Any = None) -> Decimal | None:
    return None if value is None else _decimal(value)


# Date, hours, minutes and seconds at least, as msgspec's RFC 3339 parser requires:
# ``fromisoformat`` alone would also take a bare date or an hour.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}")


def _datetime(value: Any, _: Any = None) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp string, got {preview(value)}")
    if not _TIMESTAMP.match(value):
        raise ValueError(f"expected a date and a time of day, got {preview(value)}")
    try:
        result = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 timestamp, got {preview(value)}") from None
    return result if result.tzinfo is not None else result.replace(tzinfo=UTC)


def _str(value: Any, _: Any = None) -> str:
    if value.__class__ is str:
        return value
    raise ValueError(f"expected a string, got {preview(value)}")


def _optional_str(value: Any, _: Any = None) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise ValueError(f"expected a string, got {preview(value)}")


def _int(value: Any, _: Any = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected an integer, got {preview(value)}")


def _float(value: Any, _: Any = None) -> float:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a number, got {preview(value)}")


def _bool(value: Any, _: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected a boolean, got {preview(value)}")


_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    Decimal: _decimal,
    datetime: _datetime,
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
}
for _type, _hook in _SCALARS.items():
    converter.register_structure_hook(_type, _hook)


def enum_members(tp: Any) -> tuple[type[ApiEnum], bool] | None:
    """For ``E | str`` or ``E | str | None``: the enum and whether None is allowed."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    enums = [a for a in args if isinstance(a, type) and issubclass(a, ApiEnum)]
    rest = set(args) - set(enums)
    if len(enums) != 1 or rest - {str, type(None)} or str not in rest:
        return None
    return enums[0], type(None) in rest


def _enum_or_str_hook(tp: Any) -> Callable[[Any, Any], Any]:
    found = enum_members(tp)
    assert found is not None
    enum, nullable = found
    members = enum._value2member_map_

    def structure(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected a string for {enum.__name__}, got {preview(value)}")
        return members.get(value, value)

    return structure


converter.register_structure_hook_factory(
    lambda tp: enum_members(tp) is not None, _enum_or_str_hook
)


def _optional_inner(tp: Any) -> Any:
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) != 1 or len(typing.get_args(tp)) != 2:
        return None
    return args[0]


# ``X | None`` in one call rather than two, for the commonest optional fields.
_OPTIONAL_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    str: _optional_str,
    Decimal: _optional_decimal,
}


def _optional_hook(tp: Any) -> Callable[[Any, Any], Any]:
    inner = _optional_inner(tp)
    if inner in _OPTIONAL_SCALARS:
        return _OPTIONAL_SCALARS[inner]
    handler = converter.get_structure_hook(inner)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else handler(value, inner)

    return structure


converter.register_structure_hook_factory(
    lambda tp: enum_members(tp) is None and _optional_inner(tp) is not None, _optional_hook
)


def _first_error(exc: Exception, index: int | str, item_type: Any, tp: Any) -> Exception:
    """cattrs' error shape for one bad element, so ``transform_error`` prints its path."""
    exc.__notes__ = [
        IterableValidationNote(f"Structuring {tp} @ index {index!r}", index, item_type)
    ]
    return IterableValidationError(f"While structuring {tp!r}", [exc], tp)


def _list_hook(tp: Any) -> Callable[[Any, Any], Any]:
    (item_type,) = typing.get_args(tp)
    handler = converter.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> list[Any]:
        if value.__class__ is not list:
            raise ValueError(f"expected a JSON array, got {preview(value)}")
        result = []
        for index, item in enumerate(value):
            try:
                result.append(handler(item, item_type))
            except Exception as exc:  # re-raised at once with its index: nothing is hidden
                raise _first_error(exc, index, item_type, tp) from None
        return result

    return structure


def _dict_hook(tp: Any) -> Callable[[Any, Any], Any]:
    key_type, item_type = typing.get_args(tp)
    if key_type is not str:
        raise TypeError(f"JSON object keys are strings, not {key_type!r}")
    handler = converter.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if value.__class__ is not dict:
            raise ValueError(f"expected a JSON object, got {preview(value)}")
        result = {}
        for key, item in value.items():
            try:
                result[key] = handler(item, item_type)
            except Exception as exc:  # re-raised at once with its key: nothing is hidden
                raise _first_error(exc, key, item_type, tp) from None
        return result

    return structure


def _origin_is(origin: type) -> Callable[[Any], bool]:
    return lambda tp: bool(typing.get_origin(tp) == origin)


converter.register_structure_hook_factory(_origin_is(list), _list_hook)
converter.register_structure_hook_factory(_origin_is(dict), _dict_hook)


def _model_hook(cls: Any) -> Callable[[Any, Any], Any]:
    fields = make_dict_structure_fn(cls, converter, _cattrs_detailed_validation=True)

    def structure(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise ValueError(f"expected a JSON object for {cls.__name__}, got {preview(value)}")
        model = fields(value, cls)
        _set(model, "_extra", value)  # its unknown keys, picked out when first asked for
        return model

    return structure


def register_model(cls: type[T]) -> type[T]:
    """Compile the structuring function of one model class (done once, at import)."""
    converter.register_structure_hook(cls, _model_hook(cls))
    return cls


def error_paths(exc: BaseException, *, path: str = "$") -> list[str]:
    """``reason @ $.data[3].pay_amount`` for each failed field cattrs reported."""
    if isinstance(exc, cattrs.BaseValidationError):
        return cattrs.transform_error(exc, path=path, format_exception=_format)
    return [f"{_format(exc, None)} @ {path}"]


def _format(exc: BaseException, _: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def describe_error(exc: Exception, *, path: str = "$", limit: int = 5) -> str:
    """One line naming each failed field (``$.price_amount: ...``), at most ``limit``."""
    messages = error_paths(exc, path=path)
    return "; ".join(messages[:limit]) + (" ..." if len(messages) > limit else "")


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON; raises cattrs' validation errors on mismatch."""
    result: T = converter.structure(data, cls)
    return result


def _models_in_definition_order() -> list[type]:
    """Every generated model class, each after the models its fields hold; then the
    callback events, which hold them."""
    return [
        value
        for module in (_generated, _callbacks)
        for value in vars(module).values()
        if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__
    ]


for _model in _models_in_definition_order():
    register_model(_model)
