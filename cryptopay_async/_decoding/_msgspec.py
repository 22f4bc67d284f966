"""The ``speedups`` engine: msgspec decodes JSON bytes straight into the frozen attrs models.

msgspec builds attrs instances itself (no intermediate dicts), reads money as
``Decimal`` from a JSON string or from a JSON number's own text (never through a binary
float), refuses a wrong type with a path (``$.data[3].pay_amount``) and ignores unknown
keys; every model of the answer then gets its place in it (``_places.py``), so that
its ``extra_fields`` can be found when first read (``models/_base.py``). The
rules of the contract it does not express (an unknown enum value kept as
``str``, finite money, timestamps with an offset) live in the *wire* subclasses that
``python -m codegen`` writes to ``_msgspec_wire.py``: msgspec decodes into the wire
class, whose ``__attrs_post_init__`` applies the rules and sets ``__class__`` back to the
public model. This module maps a requested type to the type msgspec decodes
(``Invoice`` → ``InvoiceWire``, ``list[Invoice]`` → ``list[InvoiceWire]``) and refuses to
build a decoder for a model that has a rule but no wire class, so a model added without
regenerating fails on its first use rather than decoding loosely.

A timestamp without an offset is refused by msgspec (``Meta(tz=True)``, checked in C at
no cost); ``_engines.MsgspecEngine`` then hands that one body to the core engine, which
reads a naive timestamp as UTC (Cryptopay sends offsets: this is the rare path).

Why this design (``benchmarks/bench_decode.py``; the figures are in
``benchmarks/RESULTS.md``, its appendix): generated hooks cost little over decoding with no
rules at all, less than hooks built at import from ``attrgetter`` and ``map`` closures
(the previous design), and much less than decoding into mirror ``Struct`` types and
copying them into the attrs models.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import msgspec

from cryptopay_async._decoding._cattrs import enum_members
from cryptopay_async._decoding._msgspec_wire import WIRE, Aware
from cryptopay_async._decoding._places import Places, places

NAIVE_TIMESTAMP = "Expected `datetime` with a timezone component"
"""The start of msgspec's message for a timestamp without an offset."""


def wire_type(tp: Any) -> Any:
    """The type msgspec decodes for ``tp``: wire classes in place of public models."""
    if isinstance(tp, type):
        if tp is datetime:
            return Aware
        if attrs.has(tp):
            return WIRE.get(tp) or _native(tp)
        return tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        result = wire_type(args[0])
        for member in args[1:]:
            result = result | wire_type(member)
        return result
    if origin is list:
        return types.GenericAlias(list, (wire_type(args[0]),))
    if origin is dict:
        return types.GenericAlias(dict, (args[0], wire_type(args[1])))
    return tp


def _native(cls: type) -> type:
    """``cls`` itself, after making sure none of its fields needs a rule of the contract."""
    for name, tp in typing.get_type_hints(cls).items():
        if wire_type(tp) != tp or enum_members(tp) or Decimal in (tp, *typing.get_args(tp)):
            raise TypeError(
                f"{cls.__name__}.{name} needs a wire class for the msgspec engine: "
                "run `python -m codegen`"
            )
    return cls


class MsgspecDecoders:
    """Bytes to models with msgspec; errors carry msgspec's path (``$.data[3].fee``).

    Raises ``msgspec.ValidationError`` (the JSON does not fit) or ``msgspec.DecodeError``
    (not JSON); ``errors`` is the module that defines both.
    """

    errors = msgspec

    def __init__(self, parse: Callable[[bytes], Any]) -> None:
        """``parse`` reads a body again, untyped, for ``extra_fields`` (``_places.py``)."""
        self._parse = parse
        self._documents: dict[Any, tuple[msgspec.json.Decoder[Any], Places | None]] = {}
        self._envelopes: dict[Any, tuple[msgspec.json.Decoder[Any], Places | None]] = {}

    def document(self, raw: bytes, tp: Any) -> Any:
        built = self._documents.get(tp)
        if built is None:
            built = self._documents[tp] = (
                msgspec.json.Decoder(wire_type(tp)),
                places(tp, self._parse, enveloped=False),
            )
        decoder, place = built
        value = decoder.decode(raw)
        if place is not None:
            place(value, raw)
        return value

    def envelope(self, raw: bytes, tp: Any) -> tuple[Any, Any]:
        built = self._envelopes.get(tp)
        if built is None:
            wire = msgspec.defstruct("Envelope", [("data", wire_type(tp)), ("meta", Any, None)])
            built = self._envelopes[tp] = (
                msgspec.json.Decoder(wire),
                places(tp, self._parse, enveloped=True),
            )
        decoder, place = built
        body = decoder.decode(raw)
        if place is not None:
            place(body.data, raw)
        return body.data, body.meta

    def untyped(self, raw: bytes) -> Any:
        return _untyped.decode(raw)


_untyped: msgspec.json.Decoder[Any] = msgspec.json.Decoder(float_hook=Decimal)
