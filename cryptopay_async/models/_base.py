"""``ApiModel``: what every model shares, the fields the API sent that it does not model.

The API adds fields over time; a model keeps the keys this release does not know in
``extra_fields`` (the raw JSON values, read-only), so a new field is usable before the
SDK models it. Decoding must cost about what it did without this, so nothing is looked
up until a model is asked:

- the cattrs engine links each model to the JSON object it was built from (one slot
  assignment); the first read compares the object's keys with the model's known ones
  (``unknown_fields``) and keeps only the unknown ones, letting the object go;
- the msgspec engine links each model to its *place*: ``(answer, *path)``, whose answer
  finds the unknown keys of the whole body on the first read of any of its models
  (``_decoding/_places.py``).

Written by hand: neither cattrs nor msgspec keeps unknown keys of attrs classes.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

EMPTY: Mapping[str, Any] = types.MappingProxyType({})
_set = object.__setattr__
_KNOWN: dict[type, frozenset[str]] = {}


def known_keys(cls: type) -> frozenset[str]:
    """The JSON keys model class ``cls`` knows: its fields and its constants."""
    known = _KNOWN.get(cls)
    if known is None:
        names = [field.name for field in attrs.fields(cls)]
        known = _KNOWN[cls] = frozenset([*names, *getattr(cls, "_constants", ())])
    return known


def unknown_fields(cls: type, document: dict[str, Any]) -> Mapping[str, Any]:
    """The keys of ``document`` that ``cls`` does not know, read-only; usually ``EMPTY``."""
    known = known_keys(cls)
    if document.keys() <= known:
        return EMPTY
    return types.MappingProxyType({k: v for k, v in document.items() if k not in known})


class ApiModel:
    """The base of every model the API answers with (``Invoice``, ``Rate``, callbacks...).

    Equality, hashing and ``repr`` look at the modelled fields only.
    """

    __slots__ = ("_extra",)
    _constants: ClassVar[tuple[str, ...]] = ()
    """JSON keys a subclass knows without a field for them (a callback's ``type``)."""

    @property
    def extra_fields(self) -> Mapping[str, Any]:
        """The keys the API sent that this model does not know, with their raw JSON values
        (numbers with a fraction as ``Decimal``); empty when there are none.

        With the msgspec engine, an answer the core engine's parser refuses (invalid
        UTF-8 in a value msgspec skipped, an integer of more than 4,300 digits; the core
        engine refuses such a body whole) raises ``ValueError`` naming the reason, on
        every read.
        """
        source: Any = getattr(self, "_extra", None)  # None: made by hand, not decoded
        cls = source.__class__
        resolved: Mapping[str, Any]
        if cls is types.MappingProxyType:
            return source  # type: ignore[no-any-return]
        if cls is tuple:  # msgspec: (answer, *path); may raise ValueError, see there
            resolved = source[0].unknown(source[1:])
        elif cls is dict:  # cattrs: the JSON object itself
            resolved = unknown_fields(self.__class__, source)
        else:
            return EMPTY
        _set(self, "_extra", resolved)
        return resolved

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied with its ``extra_fields``: the state attrs writes for a
        slotted class holds the modelled fields only."""
        fields = attrs.fields(self.__class__)  # type: ignore[arg-type]
        values = {field.name: getattr(self, field.name) for field in fields}
        return (_restore, (self.__class__, values, dict(self.extra_fields)))


def _restore(cls: type[ApiModel], values: dict[str, Any], extra: dict[str, Any]) -> ApiModel:
    """A model of ``cls`` with these field values and unknown keys (``__reduce__``)."""
    model = object.__new__(cls)
    for name, value in values.items():
        _set(model, name, value)
    if extra:
        _set(model, "_extra", types.MappingProxyType(extra))
    return model
