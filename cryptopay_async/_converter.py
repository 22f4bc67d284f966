"""The one cattrs converter: JSON values in, frozen models out, and back to JSON-ready dicts.

Built once at import. Money becomes ``Decimal`` (never float), timestamps become aware
``datetime`` (``+00:00``, ``Z``, ``+0000`` and fractions accepted; a naive one is read as
UTC), and enum fields keep unknown values as plain ``str`` so a new server release
cannot break a running integration. Unknown keys are ignored.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn

from cryptopay_async._enum import ApiEnum
from cryptopay_async._fast_decode import FastDecoders

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True)


def _decimal(value: Any, _: Any = None) -> Decimal:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            result = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    raise ValueError(f"expected a decimal string, got {value!r}")


def _datetime(value: Any, _: Any = None) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp string, got {value!r}")
    result = datetime.fromisoformat(value)
    return result if result.tzinfo is not None else result.replace(tzinfo=UTC)


def _str(value: Any, _: Any = None) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def _int(value: Any, _: Any = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: Any, _: Any = None) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def _bool(value: Any, _: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected a boolean, got {value!r}")


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

converter.register_unstructure_hook(Decimal, str)
converter.register_unstructure_hook(datetime, lambda value: value.isoformat())


def _enum_members(tp: Any) -> tuple[type[ApiEnum], bool] | None:
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
    found = _enum_members(tp)
    assert found is not None
    enum, nullable = found
    members = enum._value2member_map_

    def structure(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected a string for {enum.__name__}, got {value!r}")
        return members.get(value, value)

    return structure


converter.register_structure_hook_factory(
    lambda tp: _enum_members(tp) is not None, _enum_or_str_hook
)


def _optional_inner(tp: Any) -> Any:
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) != 1 or len(typing.get_args(tp)) != 2:
        return None
    return args[0]


def _optional_hook(tp: Any) -> Callable[[Any, Any], Any]:
    inner = _optional_inner(tp)
    handler = converter.get_structure_hook(inner)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else handler(value, inner)

    return structure


converter.register_structure_hook_factory(
    lambda tp: _enum_members(tp) is None and _optional_inner(tp) is not None, _optional_hook
)


def register_model(cls: type[T]) -> type[T]:
    """Compile the structuring function of one model class (done once, at import)."""
    converter.register_structure_hook(
        cls, make_dict_structure_fn(cls, converter, _cattrs_detailed_validation=True)
    )
    return cls


_fast = FastDecoders(decimal=_decimal, timestamp=_datetime)


def describe_error(exc: Exception, *, path: str = "$", limit: int = 5) -> str:
    """One line naming each failed field (``data.price_amount: ...``), at most ``limit``."""
    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path=path)
        return "; ".join(messages[:limit]) + (" ..." if len(messages) > limit else "")
    return f"{type(exc).__name__}: {exc}"


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON; raises cattrs' ``ClassValidationError`` on mismatch.

    The compiled fast path handles every well-formed payload; anything it rejects is
    decoded again by the detailed converter, which raises the error naming the field.
    """
    try:
        result: T = _fast.decode(data, cls)
    except Exception:
        return converter.structure(data, cls)
    return result


def to_dict(model: Any) -> Any:
    """A JSON-ready value (dicts, lists, str, numbers, None) for a model or a list of them."""
    return converter.unstructure(model)
