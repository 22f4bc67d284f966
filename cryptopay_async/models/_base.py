"""``ApiModel``: what every model shares, the fields the API sent that it does not model.

The API adds fields over time; a model keeps the keys this release does not know in
``extra_fields`` (the raw JSON values, read-only), so a new field is usable before the
SDK models it. Decoding must cost about what it did without this, so the common case
(no unknown key, never asked for) does almost no work, and nothing is looked up until a
model is asked:

- the cattrs engine links each model to the JSON object it was built from (one slot
  assignment); the first read compares the object's keys with the model's known ones
  (``unknown_fields``) and keeps only the unknown ones, letting the object go;
- the msgspec engine never sees the JSON objects. After decoding, every model of the
  answer, nested ones included, gets a *place*: a tuple of the answer (``Answer``: the
  body's bytes) and the path of its JSON object in that body (``(answer, 3,
  "exchange")`` for ``data[3].exchange``; ``_decoding/_places.py`` writes them). The
  first read of any model parses the body once, untyped, and keeps the parsed document
  in the answer; each model then walks its own path. A model never refers to another
  one, so there is no reference cycle: a dropped page is freed at once, and a nested
  model kept alone (``invoice.exchange``) still finds its keys.

Thread-safe without a lock: a model's ``_extra`` and an answer's state are each one
attribute, read once and replaced whole; two threads reading at once may both parse and
both store equal results. Written by hand: neither cattrs nor msgspec keeps unknown keys
of attrs classes.
"""

from __future__ import annotations

import types
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


def unknown_fields(cls: type, document: Any) -> Mapping[str, Any]:
    """The keys of JSON object ``document`` that ``cls`` does not know, read-only; usually
    ``EMPTY`` (also when ``document`` is not an object)."""
    if document.__class__ is not dict:
        return EMPTY
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
        source: Any = getattr(self, "_extra", None)  # None: made by hand, not decoded
        cls = source.__class__
        if cls is types.MappingProxyType:
            return source  # type: ignore[no-any-return]
        if cls is tuple:  # msgspec: (answer, *path)
            document = source[0].document()
            for key in source[1:]:
                document = _child(document, key)
            resolved = unknown_fields(self.__class__, document)
        elif cls is dict:  # cattrs: the JSON object itself
            resolved = unknown_fields(self.__class__, source)
        else:
            return EMPTY
        _set(self, "_extra", resolved)
        return resolved


def _child(document: Any, key: str | int) -> Any:
    """``document[key]`` when it is there, else ``None``."""
    if document.__class__ is dict:
        return document.get(key)
    if document.__class__ is list and key.__class__ is int and -1 < key < len(document):
        return document[key]
    return None


class Answer:
    """A body decoded by msgspec, parsed once more (untyped) only when one of its models
    is first asked for ``extra_fields``; the parsed document is then kept while a model of
    the answer still waits for its first read."""

    __slots__ = ("_enveloped", "_parse", "_state")

    def __init__(self, raw: bytes, parse: Callable[[bytes], Any], *, enveloped: bool) -> None:
        self._state: bytes | tuple[Any] = raw
        self._parse = parse
        self._enveloped = enveloped

    def document(self) -> Any:
        """The answer's JSON (its ``data`` when enveloped), parsed on the first call."""
        state = self._state  # one read: another thread may replace it meanwhile
        if state.__class__ is tuple:
            return state[0]
        document = self._parse(state)  # type: ignore[arg-type]
        if self._enveloped:
            document = document.get("data") if document.__class__ is dict else None
        self._state = (document,)
        return document
