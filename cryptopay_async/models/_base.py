"""``ApiModel``: what every model shares, the fields the API sent that it does not model.

The API adds fields over time; a model keeps the keys this release does not know in
``extra_fields`` (the raw JSON values, read-only), so a new field is usable before the
SDK models it. Decoding must cost about what it did without this, so the common case
(no unknown key) does almost no work:

- the cattrs engine links each model to the JSON object it was built from (one slot
  assignment); the first read compares the object's keys with the model's known ones
  (``unknown_fields``) and keeps only the unknown ones, letting the object go;
- the msgspec engine never sees the JSON objects. After decoding, ``attach`` points the
  top-level models of the answer (one model, or each of a list's or a dict's) at one
  ``PendingAnswer`` holding the body's bytes and weak references to them. The first
  ``extra_fields`` read parses the body once more, untyped, and links every model of
  that answer, nested ones included, to its own JSON object. A nested model does not
  know its answer: its first read links every answer still pending.

A nested model read after every top-level model of its answer was dropped (keeping
``invoice.exchange`` only, from a msgspec-decoded page) has lost its answer and reports
no extra fields. Written by hand: neither cattrs nor msgspec keeps unknown keys of attrs
classes.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Mapping
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
        (numbers with a fraction as ``Decimal``); empty when there are none."""
        source = getattr(self, "_extra", None)
        if source is None:
            if not _pending:
                return EMPTY
            for answer in list(_pending):  # a nested model: its answer is one of these
                answer.link()
            source = getattr(self, "_extra", None)
            if source is None:
                _set(self, "_extra", EMPTY)
                return EMPTY
        if source.__class__ is PendingAnswer:
            source.link()
            source = getattr(self, "_extra", None)
        if source.__class__ is dict:
            resolved = unknown_fields(self.__class__, source)
            _set(self, "_extra", resolved)
            return resolved
        return source if source.__class__ is types.MappingProxyType else EMPTY


_pending: weakref.WeakSet[PendingAnswer] = weakref.WeakSet()
"""Answers decoded by msgspec whose models are not linked yet, alive while one of their
top-level models is."""


class PendingAnswer:
    """A decoded body whose models' JSON objects are found only when one is asked for.

    Holds the body and weak references to the top-level models: no reference cycle, so
    a dropped page is freed at once, as it was before ``extra_fields``.
    """

    __slots__ = ("__weakref__", "_enveloped", "_parse", "_raw", "_top")

    def __init__(
        self, raw: bytes, parse: Callable[[bytes], Any], top: Any, *, enveloped: bool
    ) -> None:
        self._raw = raw
        self._parse = parse
        self._top = top
        self._enveloped = enveloped

    def link(self) -> None:
        """Link every model of this answer to its JSON object; the body is then let go."""
        top, self._top = self._top, None
        _pending.discard(self)
        if top is None:
            return
        document = self._parse(self._raw)
        self._raw = b""
        if self._enveloped:
            document = document.get("data") if document.__class__ is dict else None
        if top.__class__ is list:
            items: list[Any] = document if document.__class__ is list else []
            for index, ref in enumerate(top):
                model = ref()
                if model is not None:
                    link(model, items[index] if index < len(items) else None)
        elif top.__class__ is dict:
            by_key: dict[str, Any] = document if document.__class__ is dict else {}
            for key, ref in top.items():
                model = ref()
                if model is not None:
                    link(model, by_key.get(key))
        else:
            model = top()
            if model is not None:
                link(model, document)


def attach(value: Any, raw: bytes, parse: Callable[[bytes], Any], *, enveloped: bool) -> None:
    """Point the top-level models of ``value`` (decoded from ``raw``) at one pending answer.

    ``value`` is a model, or a list or a dict of models (what an operation answers);
    anything else has no model to point.
    """
    ref = weakref.ref
    cls = value.__class__
    if cls is list:
        if not value or not isinstance(value[0], ApiModel):
            return
        answer = PendingAnswer(raw, parse, [ref(model) for model in value], enveloped=enveloped)
        for model in value:
            _set(model, "_extra", answer)
    elif cls is dict:
        models = [model for model in value.values() if isinstance(model, ApiModel)]
        if not models:
            return
        top = {key: ref(model) for key, model in value.items() if isinstance(model, ApiModel)}
        answer = PendingAnswer(raw, parse, top, enveloped=enveloped)
        for model in models:
            _set(model, "_extra", answer)
    elif isinstance(value, ApiModel):
        answer = PendingAnswer(raw, parse, ref(value), enveloped=enveloped)
        _set(value, "_extra", answer)
    else:
        return
    _pending.add(answer)


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
