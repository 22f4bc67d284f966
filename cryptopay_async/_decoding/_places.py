"""Give every model msgspec decoded its *place* in the answer, for its ``extra_fields``.

msgspec never shows the JSON objects it decodes, so a model cannot keep its own (as
with cattrs). After decoding, every model of the answer, nested ones included, gets a
place: a tuple of the answer (``Answer``: the body's bytes) and the path of its JSON
object in that body, ``(answer, 3, "exchange")`` for ``data[3].exchange``. The first
``extra_fields`` read of any model of the answer parses the body once more, with the core
engine's parser (so both engines report the same values), walks it in the shape of the
decoded type and keeps only the unknown keys found, by path (usually none); the body and
the parsed document are then let go. Each model then looks up its path.

A model never refers to another one, so there is no reference cycle: a dropped page is
freed at once, and a nested model kept alone (``invoice.exchange``) still finds its keys.
Until the first read, the body's bytes stay in memory while any model of the answer does.
A body msgspec decoded but that parser refuses (invalid UTF-8 in the value of a key
msgspec skipped unread, an integer of more than 4,300 digits anywhere: the core engine
refuses such a body when decoding) makes every ``extra_fields`` read of that answer
raise ``ValueError`` naming the reason, parsed once. A body too deeply nested for the
reader's call stack raises ``ValueError`` for that read only. Thread-safe without a
lock: a model's place and an answer's state are each one attribute, read once and
replaced whole.

Decoding a page must stay about as fast as without this, so the walk that writes the
places is not a generic loop over fields (a call and a type test per model):
``places(tp, ...)`` writes, once per decoded type, a function with the walk unrolled for
that type's models, e.g. for ``list[Invoice]``::

    for i1, m2 in enumerate(value):
        _set(m2, "_extra", (answer, i1))
        c3 = m2.exchange
        if c3 is not None:
            _set(c3, "_extra", (answer, i1, "exchange"))

Written by hand (generated source, as attrs and cattrs build their hooks): neither
msgspec nor cattrs keeps unknown keys of attrs classes. The source holds only counters,
field names of the SDK's models and constants; no decoded value reaches it.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from cryptopay_async.models._base import EMPTY, ApiModel, unknown_fields

_set = object.__setattr__
Path = tuple[Any, ...]


@attrs.frozen
class Shape:
    """How a value of a decoded type holds models: a ``model`` (``cls``), or a ``list``
    (also a tuple or sequence) or ``dict`` of values shaped as ``item``; ``optional``
    when it may be ``None``."""

    kind: Literal["model", "list", "dict"]
    cls: type[ApiModel] | None = None
    item: Shape | None = None
    optional: bool = False


_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def shape(tp: Any) -> Shape | None:
    """The shape of ``tp``, ``None`` when it holds no model. A type that holds models in
    a way no path can name (a set, a fixed tuple, a union of several) is a ``TypeError``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        if len(members) == 1:
            found = shape(members[0])
            return None if found is None else attrs.evolve(found, optional=True)
        if any(shape(member) for member in members):
            raise TypeError(f"{tp!r}: a union of model types cannot be placed")
        return None
    if isinstance(tp, type) and issubclass(tp, ApiModel):
        return Shape("model", cls=tp)
    if origin in _SEQUENCES and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if any(shape(arg) for arg in args):
                raise TypeError(f"{tp!r}: a fixed-length tuple of models cannot be placed")
            return None
        item = shape(args[0])
        return None if item is None else Shape("list", item=item)
    if origin in _MAPPINGS and len(args) == 2:
        item = shape(args[1])
        return None if item is None else Shape("dict", item=item)
    if args and any(shape(arg) for arg in args):
        raise TypeError(f"{tp!r}: models inside {origin!r} cannot be placed")
    return None


_FIELDS: dict[type, list[tuple[str, Shape, Any]]] = {}


def fields(cls: type) -> list[tuple[str, Shape, Any]]:
    """The fields of model ``cls`` that hold models: name, shape, and the default object
    shared by every instance that lacked the key (never placed), or ``None``."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = []
        for field in attrs.fields(cls):
            held = shape(hints[field.name])
            if held is not None:
                default = field.default
                shared = (
                    default
                    if default is not attrs.NOTHING
                    and default is not None
                    and not isinstance(default, attrs.Factory)  # type: ignore[arg-type]
                    else None
                )
                found.append((field.name, held, shared))
        _FIELDS[cls] = found
    return found


def find(document: Any, held: Shape, path: Path, found: dict[Path, Mapping[str, Any]]) -> None:
    """Walk ``document`` in the shape ``held``: the unknown keys of each JSON object that
    became a model, by path, into ``found`` (objects without any are left out)."""
    if held.kind == "model":
        if document.__class__ is not dict:
            return
        assert held.cls is not None
        unknown = unknown_fields(held.cls, document)
        if unknown:
            found[path] = unknown
        for name, child, _ in fields(held.cls):
            value = document.get(name)
            if value is not None:
                find(value, child, (*path, name), found)
        return
    assert held.item is not None
    if held.kind == "list" and document.__class__ is list:
        for index, value in enumerate(document):
            if value is not None:
                find(value, held.item, (*path, index), found)
    elif held.kind == "dict" and document.__class__ is dict:
        for key, value in document.items():
            if value is not None:
                find(value, held.item, (*path, key), found)


class Answer:
    """One decoded body, read again only when a model of it is asked for its unknown keys;
    how to read it (parser, shape, envelope) is its type's ``Places``."""

    __slots__ = ("_places", "_state")

    def __init__(self, raw: bytes, places: Places) -> None:
        self._state: bytes | tuple[dict[Path, Mapping[str, Any]] | None, str] = raw
        self._places = places

    def unknown(self, path: Path) -> Mapping[str, Any]:
        """The unknown keys of the object at ``path``; the body is parsed on first call."""
        state = self._state  # one read: another thread may replace it meanwhile
        if not isinstance(state, tuple):  # the body, not read yet
            places = self._places
            try:
                document = places.parse(state)
            except RecursionError:  # depends on the reader's stack: not kept, read again
                raise ValueError(
                    "extra_fields cannot be read: the body is nested too deeply for this call"
                ) from None
            except ValueError as exc:
                state = (None, f"extra_fields cannot be read: {exc}")
            else:
                if places.enveloped:
                    document = document.get("data") if document.__class__ is dict else None
                found: dict[Path, Mapping[str, Any]] = {}
                if document is not None:
                    find(document, places.shape, (), found)
                state = (found, "")
            self._state = state
        found_or_none, failure = state
        if found_or_none is None:
            raise ValueError(failure)
        return found_or_none.get(path, EMPTY)


class _Writer:
    """The source of one placing function: ``value`` writes the statements for a value."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, held: Shape, var: str, path: str, depth: int, seen: tuple[type, ...]) -> None:
        pad = "    " * depth
        if held.kind == "model":
            assert held.cls is not None
            self.model(held.cls, var, path, depth, seen)
            return
        assert held.item is not None
        key, item = self.name("k" if held.kind == "dict" else "i"), self.name("m")
        loop = f"{var}.items()" if held.kind == "dict" else f"enumerate({var})"
        self.lines.append(f"{pad}for {key}, {item} in {loop}:")
        if held.item.optional:
            self.lines.append(f"{pad}    if {item} is not None:")
            depth += 1
        self.value(held.item, item, f"{path}, {key}", depth + 1, seen)

    def model(self, cls: type, var: str, path: str, depth: int, seen: tuple[type, ...]) -> None:
        if cls in seen:
            raise TypeError(f"{cls.__name__} is nested in itself: it cannot be placed")
        pad = "    " * depth
        self.lines.append(f'{pad}_set({var}, "_extra", ({path},))')
        for field_name, held, shared in fields(cls):
            child = self.name("c")
            self.lines.append(f"{pad}{child} = {var}.{field_name}")
            test = f"{child}" if held.kind != "model" else f"{child} is not None"
            if shared is not None:
                default = self.name("_default")
                self.constants[default] = shared
                test += f" and {child} is not {default}"
            self.lines.append(f"{pad}if {test}:")
            self.value(held, child, f"{path}, {field_name!r}", depth + 1, (*seen, cls))


class Places:
    """For one decoded type, read with ``parse`` (enveloped or not): ``places(value, raw)``
    gives every model of ``value`` (decoded from ``raw``) its place in one new ``Answer``."""

    __slots__ = ("_write", "enveloped", "parse", "shape")

    def __init__(self, held: Shape, parse: Callable[[bytes], Any], *, enveloped: bool) -> None:
        writer = _Writer()
        writer.lines.append("def write(value, answer):")
        if held.optional:
            writer.lines += ["    if value is None:", "        return"]
        writer.value(held, "value", "answer", 1, ())
        namespace: dict[str, Any] = {"_set": _set, **writer.constants}
        exec(compile("\n".join(writer.lines), "<cryptopay_async places>", "exec"), namespace)
        self._write: Callable[[Any, Answer], None] = namespace["write"]
        self.shape = held
        self.parse = parse
        self.enveloped = enveloped

    def __call__(self, value: Any, raw: bytes) -> None:
        self._write(value, Answer(raw, self))


def places(tp: Any, parse: Callable[[bytes], Any], *, enveloped: bool) -> Places | None:
    """The ``Places`` of decoded type ``tp``; ``None`` when it holds no model."""
    held = shape(tp)
    return None if held is None else Places(held, parse, enveloped=enveloped)
