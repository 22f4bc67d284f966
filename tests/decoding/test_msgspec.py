"""The ``speedups`` engine's wire classes: generated for every model with a rule, never
seen by callers, and equal to the core engine on any body (``tests/decoding/test_engines.py``
holds the contract both engines run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async._decoding._engines import DecodeError
from cryptopay_async._decoding._msgspec import wire_type
from cryptopay_async._decoding._msgspec_wire import WIRE
from cryptopay_async.models import Exchange, Invoice, InvoiceStatus, _generated
from cryptopay_async.models._callbacks import KNOWN_CALLBACKS
from tests.support import FIXTURES

MSGSPEC, CATTRS = _decoding.ENGINES["msgspec"], _decoding.ENGINES["cattrs"]
INVOICE = json.loads((FIXTURES / "responses-2023/invoices/retrieve.json").read_bytes())["data"]
MODELS = [
    cls
    for cls in vars(_generated).values()
    if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == _generated.__name__
]


@pytest.mark.parametrize("cls", [*MODELS, *KNOWN_CALLBACKS.values()], ids=lambda c: c.__name__)
def test_every_model_gets_a_decoder_and_callers_see_only_public_classes(cls: type) -> None:
    wire = wire_type(cls)  # refuses a model with a rule but no wire class
    assert wire is WIRE.get(cls, cls)
    if wire is not cls:
        assert vars(wire)["__slots__"] == ()  # the layout of the public class
        assert issubclass(wire, cls)


def test_a_model_with_a_rule_but_no_wire_class_is_refused_by_name() -> None:
    @attrs.frozen
    class Unregenerated:
        amount: Decimal

    with pytest.raises(TypeError, match=r"Unregenerated\.amount needs a wire class.*codegen"):
        MSGSPEC.document(b'{"amount": "1"}', Unregenerated)


def test_a_naive_timestamp_deep_in_a_page_is_read_as_utc() -> None:
    items = [INVOICE, {**INVOICE, "expires_at": "2023-07-11T09:05:52"}]
    data, meta = MSGSPEC.envelope(json.dumps({"data": items, "meta": {}}).encode(), list[Invoice])
    assert data[1].expires_at == datetime(2023, 7, 11, 9, 5, 52, tzinfo=UTC)
    assert [type(i) for i in data] == [Invoice, Invoice]
    assert meta == {}


def test_a_naive_timestamp_before_a_bad_value_still_reports_the_bad_value() -> None:
    items = [{**INVOICE, "created_at": "2023-07-11T08:55:52"}, {**INVOICE, "fee": "NaN"}]
    raw = json.dumps({"data": items}).encode()
    with pytest.raises(DecodeError) as caught:
        MSGSPEC.envelope(raw, list[Invoice])
    assert caught.value.path == "$.data[1].fee"


NON_FINITE = ["NaN", "-Infinity", "inf", "sNaN"]
AMOUNTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
    st.sampled_from([*NON_FINITE, "1e5", "0", "-0.0"]),
    st.integers(-(10**12), 10**12),
)
TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive
    st.sampled_from(["2023-07-11T08:55:52Z", "yesterday"]),
)
STATUSES = st.one_of(st.sampled_from([s.value for s in InvoiceStatus]), st.text(max_size=8))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=STATUSES,
    context=st.one_of(st.none(), st.sampled_from(["overpaid", "paid_late", "sideways"])),
    amounts=st.tuples(AMOUNTS, AMOUNTS, st.one_of(st.none(), AMOUNTS)),
    rate=AMOUNTS,
    created_at=TIMESTAMPS,
)
def test_both_engines_agree_on_any_invoice(
    status: str,
    context: str | None,
    amounts: tuple[Any, Any, Any],
    rate: Any,
    created_at: str,
) -> None:
    invoice = {
        **INVOICE,
        "status": status,
        "status_context": context,
        "price_amount": amounts[0],
        "paid_amount": amounts[1],
        "fee": amounts[2],
        "exchange": {"pair": "BTCEUR", "rate": rate, "fee": None, "fee_currency": None},
        "created_at": created_at,
    }
    raw = json.dumps({"data": [invoice]}).encode()
    fields = {"price_amount": amounts[0], "paid_amount": amounts[1], "fee": amounts[2]}
    bad = {f"$.data[0].{name}" for name, value in fields.items() if value in NON_FINITE}
    bad |= {"$.data[0].exchange.rate"} if rate in NON_FINITE else set()
    bad |= {"$.data[0].created_at"} if created_at == "yesterday" else set()
    outcomes, paths = [], []
    for engine in (MSGSPEC, CATTRS):
        try:
            data, _ = engine.envelope(raw, list[Invoice])
            outcomes.append(data)
        except DecodeError as exc:
            paths.append(exc.path)
            outcomes.append(None)
    # Each engine stops at the first bad value, in its own order of visit.
    assert set(paths) <= bad
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0] is None) == bool(bad)
    if outcomes[0] is not None:
        (decoded,) = outcomes[0]
        assert type(decoded) is Invoice
        assert type(decoded.exchange) is Exchange
        assert decoded.created_at.tzinfo is not None
        assert decoded.price_amount.is_finite()
        assert decoded.exchange.rate.is_finite()


GOOD_EXCHANGE = {"pair": "BTCEUR", "rate": "50000.5", "fee": None, "fee_currency": None}
BAD_EXCHANGE = {**GOOD_EXCHANGE, "rate": "NaN"}


@pytest.mark.parametrize(
    ("tp", "value", "path"),
    [
        (Exchange, BAD_EXCHANGE, "$.data.rate"),
        (list[Exchange], [GOOD_EXCHANGE, BAD_EXCHANGE], "$.data[1].rate"),
        (dict[str, Exchange], {"a": BAD_EXCHANGE}, "$.data[...].rate"),
        (Invoice, {**INVOICE, "exchange": BAD_EXCHANGE}, "$.data.exchange.rate"),
        (Invoice, {**INVOICE, "exchange": {**GOOD_EXCHANGE, "fee": "-inf"}}, "$.data.exchange.fee"),
    ],
    ids=["alone", "in a list", "as a dict value", "in a field", "optional, in a field"],
)
def test_a_money_only_model_is_checked_wherever_it_sits(tp: Any, value: Any, path: str) -> None:
    raw = json.dumps({"data": value}).encode()
    for engine in (MSGSPEC, CATTRS):
        with pytest.raises(DecodeError, match="finite") as caught:
            engine.envelope(raw, tp)
        assert caught.value.path == path.replace("[...]", "['a']" if engine is CATTRS else "[...]")
