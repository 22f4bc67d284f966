"""JSON bytes to models: one contract, two engines, chosen once at import.

- ``msgspec`` (the ``speedups`` extra, ``_msgspec.py``) decodes bytes straight into the
  attrs models, with no intermediate dicts: the faster of the two.
- ``cattrs`` (core install, ``_cattrs.py``): ``json.loads(parse_float=Decimal)``, then
  the converter built once at import.

What each costs per page: ``benchmarks/RESULTS.md``, section b.

Both read money as exact ``Decimal`` (a JSON number from its own text, never through a
binary float; ``NaN`` and infinities refused), timestamps as aware ``datetime``, unknown
enum values as ``str``, ignore unknown keys, and stop at the first bad value: a malformed
body costs time and memory proportional to its size, and ``DecodeError`` names one path
(``$.data[3].pay_amount``) in a message of bounded length. Every failure of either engine
is one of the exceptions listed per engine and becomes ``DecodeError``. One case only
crosses engines: a body with a timestamp lacking an offset, which msgspec refuses by design
(its fast path requires one) and the core engine reads as UTC; any other failure of
msgspec is reported, never retried with cattrs. ``tests/decoding/test_engines.py`` runs the
same contract tests on both.
"""

from __future__ import annotations

import contextlib
import json
import re
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

import cattrs

from cryptopay_async._decoding import _cattrs as _converter
from cryptopay_async._errors._messages import clip

T = TypeVar("T")

Kind = Literal["not_json", "no_envelope", "invalid"]


class DecodeError(ValueError):
    """A body that is not the JSON expected; ``str()`` is at most a few hundred characters."""

    def __init__(self, kind: Kind, reason: str, path: str = "$") -> None:
        self.kind: Kind = kind
        self.reason = clip(reason, 300)
        self.path = clip(path, 120)
        super().__init__(f"{self.reason} at {self.path}" if kind == "invalid" else self.reason)


class Engine(Protocol):
    name: str

    def document(self, raw: bytes, tp: Any) -> Any:
        """The whole body as ``tp``."""

    def envelope(self, raw: bytes, tp: Any) -> tuple[Any, Any]:
        """``(data as tp, meta as plain JSON)`` of a ``{"data": ..., "meta": ...}`` body."""

    def untyped(self, raw: bytes) -> Any:
        """Plain JSON values, numbers with a fraction or exponent as exact ``Decimal``."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The core engine's parser; a ``RecursionError`` (how deep is too deep depends on the
    caller's stack) is left to the caller."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise DecodeError("not_json", f"the body is not JSON: {exc}") from None


class CattrsEngine:
    """The core engine: the standard library's parser, then the cattrs converter."""

    name = "cattrs"

    def untyped(self, raw: bytes) -> Any:
        try:
            return parse_json(raw)
        except RecursionError:
            raise DecodeError("not_json", "the body is nested too deeply") from None

    def _structure(self, value: Any, tp: Any, path: str) -> Any:
        try:
            return _converter.converter.structure(value, tp)
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
            first = _converter.error_paths(exc, path=path)[0]
            reason, _, where = first.rpartition(" @ ")
            raise DecodeError("invalid", reason, where) from None

    def document(self, raw: bytes, tp: Any) -> Any:
        return self._structure(self.untyped(raw), tp, "$")

    def envelope(self, raw: bytes, tp: Any) -> tuple[Any, Any]:
        body = self.untyped(raw)
        if body.__class__ is not dict or "data" not in body:
            raise DecodeError("no_envelope", "the JSON has no 'data' envelope")
        return self._structure(body["data"], tp, "$.data"), body.get("meta")


_AT = re.compile(r"(?s)(.*) - at `(\$.*)`")
_MISSING = re.compile(r"(?s)Object missing required field `(.*)`")
_FIELD = re.compile(r"(?s)field `([\w.]+)`: (.*)")  # raised by _msgspec's checks


class MsgspecEngine:
    """The ``speedups`` engine; see ``_msgspec.py``."""

    name = "msgspec"

    def __init__(self, naive: Engine) -> None:
        from cryptopay_async._decoding._msgspec import NAIVE_TIMESTAMP, MsgspecDecoders

        self._decoders = MsgspecDecoders(parse=parse_json)  # one parser: equal extra_fields
        self._errors = self._decoders.errors
        self._naive_refused = NAIVE_TIMESTAMP
        self._naive = naive

    def _run(self, decode: Any, raw: bytes, tp: Any, *, envelope: bool) -> Any:
        try:
            return decode(raw, tp)
        except self._errors.ValidationError as exc:
            if str(exc).startswith(self._naive_refused):  # read as UTC: the module docstring
                return (self._naive.envelope if envelope else self._naive.document)(raw, tp)
            match = _AT.fullmatch(str(exc))
            reason, path = (match[1], match[2]) if match else (str(exc), "$")
            if envelope and path == "$":
                raise DecodeError("no_envelope", "the JSON has no 'data' envelope") from None
            missing = _MISSING.fullmatch(reason)
            if missing:  # the same words and path as the cattrs engine
                reason, path = "required field missing", f"{path}.{missing[1]}"
            field = _FIELD.fullmatch(reason)
            if field:
                reason, path = field[2], f"{path}.{field[1]}"
            raise DecodeError("invalid", reason, path) from None
        except self._errors.DecodeError as exc:
            raise DecodeError("not_json", f"the body is not JSON: {exc}") from None
        except RecursionError:  # msgspec stops at the interpreter's recursion limit
            raise DecodeError("not_json", "the body is nested too deeply") from None

    def document(self, raw: bytes, tp: Any) -> Any:
        return self._run(self._decoders.document, raw, tp, envelope=False)

    def envelope(self, raw: bytes, tp: Any) -> tuple[Any, Any]:
        result: tuple[Any, Any] = self._run(self._decoders.envelope, raw, tp, envelope=True)
        return result

    def untyped(self, raw: bytes) -> Any:
        return self._run(lambda r, _: self._decoders.untyped(r), raw, None, envelope=False)


def _engines() -> dict[str, Engine]:
    core = CattrsEngine()
    found: dict[str, Engine] = {"cattrs": core}
    with contextlib.suppress(ImportError):  # msgspec comes with the speedups extra
        found["msgspec"] = MsgspecEngine(naive=core)
    return found


ENGINES = _engines()
"""Every engine this install can run, by name (the tests run the contract on each)."""

engine: Engine = ENGINES.get("msgspec", ENGINES["cattrs"])
"""The engine in use: msgspec when installed, cattrs otherwise."""
