"""``ApiModel``: what every model shares, the fields the API sent that it does not model.

The API adds fields over time; a model keeps the keys this release does not know in
``extra_fields`` (the raw JSON values, read-only), so a new field is usable before the
SDK models it. Finding them is deferred to the first read of ``extra_fields``, so that
decoding costs no more than before:

- the cattrs engine links each model to the JSON object it was built from (one slot
  assignment); the unknown keys are picked out of it when first asked for;
- the msgspec engine never sees the JSON objects: each model it builds is linked to the
  ``PendingAnswer`` it came from (the body's bytes and the decoded value). The first
  ``extra_fields`` read of any of them parses the body once more, untyped, walks it
  alongside the decoded value and links every model to its own JSON object.

Until then a model keeps its answer alive (bytes and decoded value): a model kept long
after its page was dropped holds that page's memory until its ``extra_fields`` is read
or it is dropped too. Written by hand: neither cattrs nor msgspec keeps unknown keys of
attrs classes.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

EMPTY: Mapping[str, Any] = types.MappingProxyType({})
_set = object.__setattr__
_KNOWN: dict[type, frozenset[str]] = {}


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
        (numbers with a fraction as ``Decimal``); empty when there are none."""
        source = getattr(self, "_extra", None)
        if source.__class__ is PendingAnswer:
            source.link()
            source = getattr(self, "_extra", None)
        if source.__class__ is not dict:
            return source if source.__class__ is types.MappingProxyType else EMPTY
        known = _KNOWN.get(self.__class__)
        if known is None:
            cls = self.__class__
            names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
            known = _KNOWN[cls] = frozenset([*names, *cls._constants])
        unknown = {key: value for key, value in source.items() if key not in known}
        resolved = types.MappingProxyType(unknown) if unknown else EMPTY
        _set(self, "_extra", resolved)
        return resolved


class PendingAnswer:
    """A decoded body whose models' JSON objects are found only when one is asked for."""

    __slots__ = ("_parse", "_raw", "enveloped", "value")

    def __init__(self, raw: bytes, parse: Callable[[bytes], Any], *, enveloped: bool) -> None:
        self._raw = raw
        self._parse = parse
        self.enveloped = enveloped
        self.value: Any = None
        """What was decoded from ``raw`` (``data`` of an envelope), set once decoded."""

    def link(self) -> None:
        """Link every model of ``value`` to its JSON object; the answer is then let go."""
        value, self.value = self.value, None
        if value is None:
            return
        document = self._parse(self._raw)
        self._raw = b""
        if self.enveloped:
            document = document.get("data") if document.__class__ is dict else None
        link(value, document)


def link(value: Any, document: Any) -> None:
    """Point each model in ``value`` at the JSON object it was decoded from."""
    if isinstance(value, ApiModel):
        if document.__class__ is not dict:
            _set(value, "_extra", EMPTY)
            return
        _set(value, "_extra", document)
        for field in attrs.fields(value.__class__):  # type: ignore[arg-type]
            child = getattr(value, field.name)
            if child.__class__ in (list, dict) or isinstance(child, ApiModel):
                link(child, document.get(field.name))
    elif value.__class__ is list:
        if document.__class__ is list:
            for item, item_document in zip(value, document, strict=False):
                link(item, item_document)
        else:
            for item in value:
                link(item, None)
    elif value.__class__ is dict:
        documents = document if document.__class__ is dict else {}
        for key, item in value.items():
            link(item, documents.get(key))
