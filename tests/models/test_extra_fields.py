"""Unknown response fields are kept in ``extra_fields`` at every nesting level, on both engines."""

from __future__ import annotations

import json
import operator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async.models import Invoice, Rate, to_dict
from tests.support import fixture_json

INVOICE = fixture_json("responses-2023/invoices/retrieve.json")["data"]
KNOWN = {"id", "status", "exchange", "transactions", "txid", "risk", "pair", "rate", "fee"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda key: key not in KNOWN and not key.startswith("_")
    ),
    json_values,
    max_size=3,
)


def with_extras(top: dict[str, Any], exchange: dict[str, Any], transaction: dict[str, Any]) -> Any:
    invoice = json.loads(json.dumps(INVOICE))
    invoice.setdefault(
        "exchange", {"pair": "BTCEUR", "rate": "1.5", "fee": "0", "fee_currency": "EUR"}
    )
    invoice["transactions"] = [{"txid": "t1", "risk": None}]
    invoice.update({k: v for k, v in top.items() if k not in invoice})
    invoice["exchange"].update({k: v for k, v in exchange.items() if k not in invoice["exchange"]})
    invoice["transactions"][0].update(transaction)
    return invoice


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=extra_keys, exchange=extra_keys, transaction=extra_keys)
def test_unknown_keys_survive_at_every_level(
    engine: _decoding.Engine, top: Any, exchange: Any, transaction: Any
) -> None:
    invoice = with_extras(top, exchange, transaction)
    body = json.dumps({"data": [invoice, invoice]}).encode()
    data, _ = engine.envelope(body, list[Invoice])
    expected_top = {k: v for k, v in top.items() if k not in INVOICE and k not in KNOWN}
    for decoded in data:
        assert dict(decoded.extra_fields) == expected_top
        assert decoded.exchange is not None
        expected_exchange = {
            k: invoice["exchange"][k]
            for k in exchange
            if k not in ("pair", "rate", "fee", "fee_currency")
        }
        assert dict(decoded.exchange.extra_fields) == expected_exchange
        assert dict(decoded.transactions[0].extra_fields) == transaction
        dumped = to_dict(decoded)
        for key, value in expected_top.items():
            assert dumped[key] == value


@pytest.mark.parametrize("kind", ["document", "envelope"])
def test_a_model_without_unknown_keys_has_an_empty_read_only_mapping(
    engine: _decoding.Engine, kind: str
) -> None:
    body = json.dumps({"data": INVOICE}).encode()
    invoice = (
        engine.envelope(body, Invoice)[0]
        if kind == "envelope"
        else engine.document(json.dumps(INVOICE).encode(), Invoice)
    )
    assert invoice.extra_fields == {}
    with pytest.raises(TypeError):
        operator.setitem(invoice.extra_fields, "x", 1)


def test_fractional_numbers_stay_exact_and_to_dict_is_json_ready(engine: _decoding.Engine) -> None:
    rate = {"buy_rate": "1.0", "sell_rate": "2.0", "surcharge": 0.1}
    decoded = engine.document(json.dumps(rate).encode(), Rate)
    assert decoded.extra_fields == {"surcharge": Decimal("0.1")}
    assert to_dict(decoded)["surcharge"] == "0.1"


def test_a_model_made_by_hand_has_no_extra_fields() -> None:
    body = json.dumps({"data": {**INVOICE, "brand_new": 1}}).encode()
    decoded = _decoding.engine.envelope(body, Invoice)[0]
    assert decoded.extra_fields == {"brand_new": 1}
    import attrs

    assert attrs.evolve(decoded).extra_fields == {}
    assert decoded == attrs.evolve(decoded)  # equality looks at the modelled fields


def test_a_nested_model_read_first_finds_its_own_unknown_keys(engine: _decoding.Engine) -> None:
    invoice = with_extras({"top_new": 1}, {"exchange_new": 2}, {"transaction_new": 3})
    body = json.dumps({"data": [invoice, invoice]}).encode()
    data, _ = engine.envelope(body, list[Invoice])
    assert data[1].transactions[0].extra_fields == {"transaction_new": 3}
    assert data[0].exchange is not None
    assert data[0].exchange.extra_fields == {"exchange_new": 2}
    assert [item.extra_fields for item in data] == [{"top_new": 1}, {"top_new": 1}]


def test_a_dropped_page_is_freed_without_the_garbage_collector(engine: _decoding.Engine) -> None:
    import gc
    import weakref

    body = json.dumps({"data": [{**INVOICE, "brand_new": 1}] * 3}).encode()
    gc.disable()
    try:
        data, _ = engine.envelope(body, list[Invoice])
        first = weakref.ref(data[0])
        del data
        assert first() is None  # no reference cycle keeps the page alive
    finally:
        gc.enable()
