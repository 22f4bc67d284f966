"""Give every model msgspec decoded its *place*: its answer and the path of its JSON object.

``ApiModel.extra_fields`` (``models/_base.py``) finds a model's unknown keys from its
place, on first read. Every model needs one, nested ones too, and decoding a page must
stay about as fast as without it, so the walk is not a generic loop over fields (a call
and a type test per model): ``placer(tp)`` writes, once per decoded type, a function with
the walk unrolled for that type's models, e.g. for ``list[Invoice]``::

    for i0, m0 in enumerate(value):
        _set(m0, "_extra", (answer, i0))
        c1 = m0.transactions
        if c1:
            for i1, m1 in enumerate(c1):
                _set(m1, "_extra", (answer, i0, "transactions", i1))
                ...
        c2 = m0.exchange
        if c2 is not None:
            _set(c2, "_extra", (answer, i0, "exchange"))

Written by hand (generated source, as attrs and cattrs build their hooks): msgspec keeps
no unknown keys of attrs classes and knows nothing of the models' places. A field whose
type is not one model, a list or a dict of one model (a union of models), or a model
nested in itself, is walked by the generic ``place`` instead.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from cryptopay_async.models._base import Answer, ApiModel

Placer = Callable[[Any, Answer], None]
_set = object.__setattr__


def _model(tp: Any) -> type[ApiModel] | None:
    """``tp`` when it is one model class (``None`` allowed), else ``None``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(members) != 1:
            return None
        tp = members[0]
    return tp if isinstance(tp, type) and issubclass(tp, ApiModel) else None


def _shape(tp: Any) -> tuple[str, Any] | None:
    """How a value of type ``tp`` holds models: ``("model", cls)``, ``("list", cls)``,
    ``("dict", cls)``, ``("any", None)`` (models of a shape not unrolled) or ``None``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(members) == 1:
            return _shape(members[0])
        shapes = [_shape(member) for member in members]
        return ("any", None) if any(shapes) else None
    model = _model(tp)
    if model is not None:
        return ("model", model)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and args:
        inner = _shape(args[0])
        if inner is None:
            return None
        return ("list", inner[1]) if inner[0] == "model" else ("any", None)
    if origin is dict and len(args) == 2:
        inner = _shape(args[1])
        if inner is None:
            return None
        return ("dict", inner[1]) if inner[0] == "model" else ("any", None)
    return None


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def place(value: Any, where: tuple[Any, ...]) -> None:
    """The generic walk: give ``value`` (a model, or a list or dict of them, at any
    depth) and every model inside it its place, ``where`` being its own."""
    if isinstance(value, ApiModel):
        _set(value, "_extra", where)
        for field in attrs.fields(value.__class__):  # type: ignore[arg-type]
            if _shape(_hints(value.__class__)[field.name]) is not None:
                place(getattr(value, field.name), (*where, field.name))
    elif value.__class__ is list:
        for index, item in enumerate(value):
            place(item, (*where, index))
    elif value.__class__ is dict:
        for key, item in value.items():
            place(item, (*where, key))


class _Writer:
    """The source of one placer: ``emit`` writes the statements for a value of a type."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names = 0

    def name(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def emit(
        self, shape: tuple[str, Any], var: str, path: str, depth: int, seen: tuple[type, ...]
    ) -> None:
        pad = "    " * depth
        kind, cls = shape
        if kind == "any" or cls in seen:
            self.lines.append(f"{pad}_place({var}, ({path},))")
            return
        if kind == "list":
            index, item = self.name("i"), self.name("m")
            self.lines.append(f"{pad}for {index}, {item} in enumerate({var}):")
            self.model(cls, item, f"{path}, {index}", depth + 1, seen)
        elif kind == "dict":
            key, item = self.name("k"), self.name("m")
            self.lines.append(f"{pad}for {key}, {item} in {var}.items():")
            self.model(cls, item, f"{path}, {key}", depth + 1, seen)
        else:
            self.model(cls, var, path, depth, seen)

    def model(self, cls: type, var: str, path: str, depth: int, seen: tuple[type, ...]) -> None:
        pad = "    " * depth
        self.lines.append(f'{pad}_set({var}, "_extra", ({path},))')
        hints = _hints(cls)
        for field in attrs.fields(cls):
            shape = _shape(hints[field.name])
            if shape is None:
                continue
            child = self.name("c")
            self.lines.append(f"{pad}{child} = {var}.{field.name}")
            test = f"if {child}:" if shape[0] in ("list", "dict") else f"if {child} is not None:"
            self.lines.append(f"{pad}{test}")
            self.emit(shape, child, f"{path}, {field.name!r}", depth + 1, (*seen, cls))


_PLACERS: dict[Any, Placer] = {}


def placer(tp: Any) -> Placer | None:
    """The function that places every model of a value of type ``tp`` in its answer;
    ``None`` when ``tp`` holds no model."""
    if tp in _PLACERS:
        return _PLACERS[tp]
    shape = _shape(tp)
    if shape is None:
        _PLACERS[tp] = None  # type: ignore[assignment]
        return None
    writer = _Writer()
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType)
    writer.lines.append("def placer(value, answer):")
    if optional:
        writer.lines.append("    if value is None:")
        writer.lines.append("        return")
    if shape[0] == "any":
        writer.lines.append("    _place(value, (answer,))")
    else:
        writer.emit(shape, "value", "answer", 1, ())
    namespace: dict[str, Any] = {"_set": _set, "_place": place}
    exec(compile("\n".join(writer.lines), f"<placer {tp!r}>", "exec"), namespace)
    built: Placer = namespace["placer"]
    _PLACERS[tp] = built
    return built
