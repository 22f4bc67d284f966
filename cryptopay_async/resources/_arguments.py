"""Checking and encoding call arguments before anything is sent.

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind,
unusable value) naming the argument, so a bad call never reaches the server.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from urllib.parse import quote, unquote

import attrs
import httpx

from cryptopay_async._decoding._cattrs import converter, describe_error
from cryptopay_async.models._dict import to_dict

MAX_AMOUNT_DIGITS = 30
"""Digits an amount may have before, and after, the decimal point.

Far beyond any payment (10^30 of anything; 18 decimals is the finest crypto unit in
use) and small enough that ``"1e9999999"`` or ``"0e-999999999"`` is refused before
``format`` would write it out as megabytes or gigabytes of digits.
"""
_MAX_AMOUNT_TEXT = 100
_MAX_AMOUNT_BITS = 100  # 2**100 has 31 digits: an int this long cannot pass the check above


def amount(name: str, value: object) -> str:
    """A money amount as the exact decimal string the API sends back (``"100.0"`` stays so)."""
    if isinstance(value, float):
        raise TypeError(
            f"{name} must be a Decimal, str or int, not float: "
            "binary floats cannot represent money exactly"
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{name} must be a Decimal, str or int, got {type(value).__name__}")
    if isinstance(value, str):
        if len(value) > _MAX_AMOUNT_TEXT:
            raise ValueError(
                f"{name} is {len(value)} characters long, too long for an amount: {_preview(value)}"
            )
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{name} is not a decimal number: {_preview(value)}") from None
        if value != value.strip():
            raise ValueError(f"{name} has surrounding whitespace: {_preview(value)}")
    elif isinstance(value, int) and value.bit_length() > _MAX_AMOUNT_BITS:
        digits = int(value.bit_length() * math.log10(2)) + 1  # str() of a huge int raises
        raise ValueError(_out_of_range(name, "the int", f"about {digits}", "before"))
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {_preview(value)}")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    before, after = max(number.adjusted() + 1, 1), max(-exponent, 0)
    if before > MAX_AMOUNT_DIGITS:
        raise ValueError(_out_of_range(name, _preview(value), before, "before"))
    if after > MAX_AMOUNT_DIGITS:
        raise ValueError(_out_of_range(name, _preview(value), after, "after"))
    return format(number, "f")


def _out_of_range(name: str, shown: str, digits: object, where: str) -> str:
    return (
        f"{name} is out of range for an amount: {shown} has {digits} digits "
        f"{where} the decimal point, at most {MAX_AMOUNT_DIGITS} are allowed on each side"
    )


def _preview(value: object) -> str:
    """``repr`` of a value cut to 40 characters, so an error message stays one short line."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return _encodable(name, value)


def _encodable(name: str, value: str) -> str:
    """Refuse lone surrogates (``"\\udcff"``, e.g. from ``os.fsdecode``): no UTF-8 for them."""
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} is not valid Unicode text: {value[exc.start : exc.end]!r} at "
            f"position {exc.start} cannot be encoded as UTF-8"
        ) from None
    return value


_DOT_SEGMENTS = frozenset({".", ".."})


def identifier(name: str, value: object) -> str:
    """An id or custom id that can stand as one path segment of its endpoint.

    Empty would change the route; ``.`` and ``..`` are refused rather than encoded.
    httpx sends ``%2E%2E`` untouched (it only removes literal dot segments), but RFC 3986
    §6.2.2.2 makes ``%2E`` equivalent to ``.``: a proxy or server that normalizes the path
    (nginx does, before ``proxy_pass`` with a URI; Rack::Protection does) may still turn
    ``/api/accounts/%2E%2E/transactions`` into ``/api/transactions``. Every other
    character is percent-encoded by ``path_segment`` (``/`` as ``%2F``, which RFC 3986
    keeps distinct from ``/``), so no other id can leave its endpoint.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if value in _DOT_SEGMENTS:
        raise ValueError(
            f"{name} must not be {value!r}: in a URL path it names the parent or the same "
            "folder, so the request would reach another endpoint"
        )
    return _encodable(name, value)


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def integer(name: str, value: object) -> int:
    """An int a JSON reader on the other side can hold: a signed 64-bit one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{name} is out of range: {value.bit_length()} bits, at most 63")
    return value


def timestamp(name: str, value: object) -> str:
    """An aware datetime as ISO 8601 in UTC (``2021-10-01T00:00:00+00:00``)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} is a naive datetime: give it a timezone, e.g. datetime.now(timezone.utc)"
        )
    return value.astimezone(UTC).isoformat()


def choice(name: str, value: object, enum: type[Enum]) -> str:
    """An enum member or its string value; anything else names the valid values."""
    if isinstance(value, enum):
        return str(value.value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a {enum.__name__} or str, got {type(value).__name__}")
    if value not in enum._value2member_map_:
        valid = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"{name} must be one of {valid}, got {value!r}")
    return value


def string_map(name: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of str to str, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"{name} must map str to str, found {key!r}: {item!r}")
        _encodable(f"{name}[{key!r}]", item)
        _encodable(f"{name} key {key!r}", key)
    return dict(value)


def nested(name: str, value: object, cls: type[Any]) -> Any:
    """A model instance or a dict with its JSON keys, validated the same way."""
    if isinstance(value, cls):  # evolve: its modelled fields only, never its extra_fields
        return _without_nulls(to_dict(attrs.evolve(value)))
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a {cls.__name__} or a dict, got {type(value).__name__}")
    unknown = set(value) - {field.name for field in attrs.fields(cls)}
    if unknown:
        raise TypeError(f"{name} has keys {cls.__name__} does not know: {sorted(unknown)}")
    try:
        return _without_nulls(to_dict(converter.structure(dict(value), cls)))
    except Exception as exc:  # cattrs raises ClassValidationError / KeyError / ValueError
        raise ValueError(f"{name} is not a valid {cls.__name__}: {describe_error(exc)}") from None


def _without_nulls(value: Any) -> Any:
    """Optional nested fields left out are not sent as null."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def nested_list(name: str, value: object, cls: type[Any]) -> list[Any]:
    """A list of model instances or dicts (e.g. customer refund addresses)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of {cls.__name__}, got {type(value).__name__}")
    return [nested(f"{name}[{index}]", item, cls) for index, item in enumerate(value)]


MAX_URL_ARGUMENT = 2048
"""Longest percent-encoded id or filter value put in a URL.

Servers refuse request lines over 8 KB (nginx and Apache defaults) and httpx raises its own
``InvalidURL`` beyond 64 KB; 2 KB per argument keeps every operation's line below both.
"""


def path_segment(value: str) -> str:
    """RFC 3986 percent-encoding of one path segment (``/``, space, ``?``, ``%``, non-ASCII)."""
    return quote(value, safe="")


def path_parameter(name: str, value: object) -> str:
    """A checked id as the one percent-encoded path segment it becomes."""
    return _fits_url(name, path_segment(identifier(name, value)))


def _fits_url(name: str, encoded: str) -> str:
    if len(encoded) > MAX_URL_ARGUMENT:
        raise ValueError(
            f"{name} is too long for a URL: {len(encoded)} characters once percent-encoded, "
            f"at most {MAX_URL_ARGUMENT}"
        )
    return encoded


def request_path(value: object) -> str:
    """A caller's already-encoded ``/api/...`` path that httpx will send unchanged.

    httpx drops ``#...``, resolves ``.`` and ``..`` segments and refuses control
    characters; each would send the request somewhere other than the path given (or
    fail untyped), so they are refused here, the same way ids are.
    """
    path = text("path", value)
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {_preview(path)}")
    for segment in path.partition("?")[0].split("/"):
        if unquote(segment) in _DOT_SEGMENTS:
            raise ValueError(
                f"path must not have a {segment!r} segment: httpx would resolve it and "
                f"send the request elsewhere, got {_preview(path)}"
            )
    if "#" in path or not path.isprintable() or " " in path:
        raise ValueError(
            f"path must be percent-encoded, without '#', spaces or control characters, "
            f"got {_preview(path)}"
        )
    if path.endswith("?") and path.count("?") == 1:
        # An empty query: dropped, since not every transport can send a bare "?" (yarl).
        path = path[:-1]
    return path


def query_string(params: Mapping[str, object]) -> str:
    """``a=1&b=2`` with RFC 3986 escapes (``%20`` for space); None values are left out."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded = "true" if value else "false"
        elif isinstance(value, str):
            encoded = value
        else:
            raise TypeError(f"query parameter {key} has unsupported type {type(value).__name__}")
        _encodable(key, encoded)
        parts.append(f"{quote(key, safe='')}={_fits_url(key, quote(encoded, safe=''))}")
    return "&".join(parts)


SDK_HEADERS = frozenset({"authorization", "date", "content-type", "content-length", "host"})
"""Headers the SDK sets itself: the signature covers them, or httpx derives them."""


def extra_headers(value: object) -> tuple[tuple[str, str], ...]:
    """A call's ``extra_headers``: str to str, none of the headers the SDK owns."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"extra_headers must be a mapping of str to str, got {type(value).__name__}"
        )
    headers = []
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"extra_headers must map str to str, found {key!r}: {_preview(item)}")
        if key.lower() in SDK_HEADERS:
            raise ValueError(
                f"extra_headers cannot set {key}: the SDK sets it (and signs the request "
                "with it); the headers it owns are Authorization, Date, Content-Type, "
                "Content-Length and Host"
            )
        if not key.isascii() or not key.isprintable() or not key or " " in key or ":" in key:
            raise ValueError(f"extra_headers has a header name that is not a token: {key!r}")
        if not item.isprintable():
            raise ValueError(f"extra_headers[{key!r}] contains control characters")
        headers.append((key, item))
    return tuple(headers)


def _taken(option: str, value: object, arguments: Collection[str], owner: str) -> dict[str, Any]:
    """``value`` as a dict of str keys, none of which is one of the method's ``arguments``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{option} must be a mapping with str keys, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{option} keys must be str, found {key!r}")
        if key in arguments:
            raise ValueError(
                f"{option} sets {key!r}, which {owner} takes as an argument: pass {key}=... "
                "instead (an extra key never overwrites one)"
            )
    return dict(value)


def extra_query(value: object, arguments: Collection[str], owner: str) -> dict[str, Any]:
    """A call's ``extra_query``: str keys and str or bool values, none an argument's name."""
    query = _taken("extra_query", value, arguments, owner)
    for key, item in query.items():
        if not isinstance(item, str | bool):
            raise TypeError(
                f"extra_query[{key!r}] must be a str or bool, got {type(item).__name__}"
            )
    return query


def extra_body(value: object, arguments: Collection[str], owner: str) -> dict[str, Any]:
    """A call's ``extra_body``: JSON fields merged into the body, none an argument's name."""
    return _taken("extra_body", value, arguments, owner)


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """``timeout`` as httpx's, every part ``None`` (no limit) or a number of seconds > 0.

    NaN, zero or a negative number would fail every call (anyio refuses a NaN deadline;
    a negative one times out at once, attempt after attempt): refused here instead.
    """
    if not isinstance(timeout, httpx.Timeout | int | float | None) or isinstance(timeout, bool):
        raise TypeError(
            f"timeout must be seconds (int or float) or an httpx.Timeout, "
            f"got {type(timeout).__name__}"
        )
    result = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    for part, seconds in result.as_dict().items():
        if seconds is not None and not seconds > 0:  # also NaN
            raise ValueError(f"timeout ({part}) must be a number of seconds > 0, got {seconds!r}")
    return result
