"""Every model the msgspec engine decodes gets its place in the answer
(``_decoding/_places.py``), so both engines report the same ``extra_fields`` for every
type the SDK decodes, at every depth and in every shape a path can name."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from cryptopay_async._decoding import _cattrs
from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async._decoding._places import places
from cryptopay_async.models import to_dict
from cryptopay_async.models._base import ApiModel
from cryptopay_async.models._callbacks import KNOWN_CALLBACKS
from cryptopay_async.models._enum import ApiEnum
from cryptopay_async.resources import OPERATIONS


@_cattrs.register_model
@attrs.frozen(kw_only=True)
class Leaf(ApiModel):
    name: str


SHARED = Leaf(name="shared")


@_cattrs.register_model
@attrs.frozen(kw_only=True)
class Holder(ApiModel):
    """Every shape a path can name: optional items, lists of lists, tuples, sequences,
    dicts, and a model default that every instance lacking the key shares."""

    maybe_items: list[Leaf | None] = attrs.field(factory=list)
    by_key: dict[str, Leaf | None] = attrs.field(factory=dict)
    grid: list[list[Leaf]] = attrs.field(factory=list)
    row: tuple[Leaf, ...] = ()
    seq: Sequence[Leaf] = ()
    shared: Leaf = SHARED


@attrs.frozen(kw_only=True)
class Node(ApiModel):
    name: str
    children: list[Node] = attrs.field(factory=list)


def sample(tp: Any, path: str) -> Any:
    """A JSON value of type ``tp`` whose every object carries ``zz_new``: its own path."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return sample(next(arg for arg in args if arg is not type(None)), path)
    if origin in (list, tuple, Sequence):
        return [sample(args[0], f"{path}[{index}]") for index in range(2)]
    if origin is dict:
        return {f"k{index}": sample(args[1], f"{path}.k{index}") for index in range(2)}
    if isinstance(tp, type) and issubclass(tp, ApiEnum):
        return next(iter(tp)).value
    scalars = {str: "s", int: 1, float: 1.5, bool: True, Decimal: "1.25"}
    if tp in scalars:
        return scalars[tp]
    if tp is datetime:
        return "2024-01-01T00:00:00+00:00"
    assert attrs.has(tp), tp
    hints = typing.get_type_hints(tp)
    document = {
        field.name: sample(hints[field.name], f"{path}.{field.name}") for field in attrs.fields(tp)
    }
    document.update({key: getattr(tp, key) for key in getattr(tp, "_constants", ())})
    return {**document, "zz_new": path}


def extras(value: Any, path: str = "$") -> dict[str, dict[str, Any]]:
    """Every model of ``value`` by its path: its ``extra_fields``."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(value, ApiModel):
        found[path] = dict(value.extra_fields)
        for field in attrs.fields(value.__class__):  # type: ignore[arg-type]
            found.update(extras(getattr(value, field.name), f"{path}.{field.name}"))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.update(extras(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.update(extras(item, f"{path}.{key}"))
    return found


DECODED = sorted(
    {op.result for op in OPERATIONS if places(op.result, json.loads, enveloped=True)}
    | set(KNOWN_CALLBACKS.values()),
    key=repr,
)


@pytest.mark.parametrize("enveloped", [True, False], ids=["envelope", "document"])
@pytest.mark.parametrize("tp", [*DECODED, Holder], ids=repr)
def test_both_engines_report_every_model_s_own_unknown_keys(tp: Any, enveloped: bool) -> None:
    document = sample(tp, "$")
    seen = {}
    for name, engine in _decoding.ENGINES.items():
        if enveloped:
            value, _ = engine.envelope(json.dumps({"data": document}).encode(), tp)
        else:
            value = engine.document(json.dumps(document).encode(), tp)
        seen[name] = (extras(value), to_dict(value))
    assert seen["msgspec"] == seen["cattrs"]
    found = seen["msgspec"][0]
    assert found, "the sample holds models"
    assert all(keys == {"zz_new": path} for path, keys in found.items())


def test_a_model_default_shared_by_instances_is_never_placed() -> None:
    msgspec = _decoding.ENGINES["msgspec"]
    holders = msgspec.document(json.dumps([{"row": []}, {"new": 1}]).encode(), list[Holder])
    assert [holder.shared for holder in holders] == [SHARED, SHARED]
    assert holders[1].extra_fields == {"new": 1}
    assert SHARED.extra_fields == {}
    with pytest.raises(AttributeError):
        object.__getattribute__(SHARED, "_extra")  # nothing of an answer pinned to it


def test_null_items_of_optional_lists_and_dicts_are_skipped() -> None:
    body = json.dumps({"maybe_items": [None, {"name": "a", "x": 1}], "by_key": {"k": None}})
    for engine in _decoding.ENGINES.values():
        holder = engine.document(body.encode(), Holder)
        assert holder.maybe_items[0] is None
        assert holder.maybe_items[1] is not None
        assert holder.maybe_items[1].extra_fields == {"x": 1}


@pytest.mark.parametrize(
    ("tp", "words"),
    [
        (set[Leaf], "cannot be placed"),
        (tuple[Leaf, Leaf], "fixed-length tuple"),
        (Leaf | Holder, "union of model types"),
        (list[Leaf | Holder], "union of model types"),
        (Node, "nested in itself"),
    ],
    ids=repr,
)
def test_a_type_whose_models_no_path_can_name_is_refused_when_first_used(
    tp: Any, words: str
) -> None:
    with pytest.raises(TypeError, match=words):
        places(tp, json.loads, enveloped=False)


@pytest.mark.parametrize(
    "tp", [int, str, list[str], dict[str, int], None, tuple[int, str]], ids=repr
)
def test_a_type_without_models_needs_no_places(tp: Any) -> None:
    assert places(tp, json.loads, enveloped=False) is None
