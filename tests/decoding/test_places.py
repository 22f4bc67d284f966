"""The msgspec engine gives every model its place in the answer (``_decoding/_places.py``):
the generated walk and the generic one agree, at every depth and for every shape."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async._decoding._places import place, placer
from cryptopay_async.callbacks import ChannelPaymentCallback, InvoiceCallback
from cryptopay_async.models import Coin, Invoice, Rate
from cryptopay_async.models._base import Answer, ApiModel
from tests.support import fixture_json

MSGSPEC = _decoding.ENGINES["msgspec"]
INVOICE = fixture_json("responses-2023/invoices/retrieve.json")["data"]
ANSWER = Answer(b"{}", json.loads, enveloped=False)


@attrs.frozen(kw_only=True)
class Leaf(ApiModel):
    name: str


@attrs.frozen(kw_only=True)
class Other(ApiModel):
    size: int


@attrs.frozen(kw_only=True)
class Node(ApiModel):
    """A model nested in itself, a union of models and a dict of models."""

    name: str
    children: list[Node] = attrs.field(factory=list)
    either: Leaf | Other | None = None
    by_key: dict[str, Leaf] = attrs.field(factory=dict)
    maybe: Leaf | None = None


def places(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Every model in ``value`` by its path: the place it was given, answer left out."""
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    if isinstance(value, ApiModel):
        where = object.__getattribute__(value, "_extra")
        assert where[0] is ANSWER
        found[path] = where[1:]
        for field in attrs.fields(value.__class__):  # type: ignore[arg-type]
            found.update(places(getattr(value, field.name), (*path, field.name)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(places(item, (*path, index)))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.update(places(item, (*path, key)))
    return found


def tree() -> Node:
    return Node(
        name="root",
        children=[
            Node(name="a", either=Leaf(name="l"), children=[Node(name="a0", maybe=Leaf(name="m"))]),
            Node(name="b", either=Other(size=1), by_key={"x": Leaf(name="x"), "y": Leaf(name="y")}),
        ],
    )


def invoice_with_everything() -> dict[str, Any]:
    invoice: dict[str, Any] = json.loads(json.dumps(INVOICE))
    invoice["exchange"] = {"pair": "BTCEUR", "rate": "1.5", "fee": "0", "fee_currency": "EUR"}
    risk = fixture_json("responses-2023/risks/score.json")["data"]
    invoice["transactions"] = [{"txid": "a", "risk": risk}, {"txid": "b", "risk": None}]
    return invoice


CASES: list[tuple[str, Any, Any]] = [
    ("a page of invoices", list[Invoice], [invoice_with_everything()] * 3),
    ("one invoice or none", Invoice | None, invoice_with_everything()),
    ("none", Invoice | None, None),
    ("a callback", InvoiceCallback, {"type": "Invoice", "event": "created", "data": INVOICE}),
    ("rates by pair", dict[str, Rate], {"BTCEUR": {"buy_rate": "1", "sell_rate": "2"}}),
    ("coins", list[Coin], fixture_json("responses-2023/coins/list.json")["data"]),
    ("an empty page", list[Invoice], []),
]


@pytest.mark.parametrize(
    ("tp", "document"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_the_generated_walk_places_every_model_where_the_generic_walk_does(
    tp: Any, document: Any
) -> None:
    raw = json.dumps(document).encode()
    generated = MSGSPEC.document(raw, tp)
    generic = MSGSPEC.document(raw, tp)
    build = placer(tp)
    assert build is not None
    build(generated, ANSWER)
    place(generic, (ANSWER,))
    assert places(generated) == places(generic)
    if document:
        assert places(generated), "some model was placed"


def test_models_nested_in_themselves_in_unions_and_in_dicts_are_placed_by_path() -> None:
    build = placer(Node)
    assert build is not None
    value = tree()
    build(value, ANSWER)
    assert places(value) == {
        (): (),
        ("children", 0): ("children", 0),
        ("children", 0, "either"): ("children", 0, "either"),
        ("children", 0, "children", 0): ("children", 0, "children", 0),
        ("children", 0, "children", 0, "maybe"): ("children", 0, "children", 0, "maybe"),
        ("children", 1): ("children", 1),
        ("children", 1, "either"): ("children", 1, "either"),
        ("children", 1, "by_key", "x"): ("children", 1, "by_key", "x"),
        ("children", 1, "by_key", "y"): ("children", 1, "by_key", "y"),
    }


@pytest.mark.parametrize("tp", [int, str, list[str], dict[str, int], None], ids=repr)
def test_a_type_without_models_needs_no_walk(tp: Any) -> None:
    assert placer(tp) is None


def test_a_callback_union_is_placed_by_the_generic_walk() -> None:
    tp = InvoiceCallback | ChannelPaymentCallback
    build = placer(tp)
    assert build is not None
    value = MSGSPEC.document(
        json.dumps({"type": "Invoice", "event": "created", "data": INVOICE}).encode(),
        InvoiceCallback,
    )
    build(value, ANSWER)
    assert places(value)[("data",)] == ("data",)
