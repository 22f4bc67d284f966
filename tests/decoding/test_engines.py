"""The decoding contract, run on both engines: msgspec (``speedups``) and cattrs (core).

Frozen models of the public classes, exact ``Decimal`` money (JSON numbers from their own
text), aware timestamps, unknown enum values and keys tolerated, and one short error
naming the path, whatever the size of a malformed body.
"""

from __future__ import annotations

import json
import tracemalloc
import types
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from cryptopay_async._decoding._cattrs import structure
from cryptopay_async._decoding._engines import DecodeError, Engine
from cryptopay_async.callbacks import CallbackPayloadError, InvoiceCallback
from cryptopay_async.callbacks._verify import parse
from cryptopay_async.models import (
    Exchange,
    Invoice,
    InvoiceStatus,
    InvoiceTransaction,
    Rate,
    Risk,
    RiskLevel,
    Transaction,
)
from cryptopay_async.resources import OPERATIONS
from tests.support import FIXTURES, fixture_bytes

BODIES = sorted(FIXTURES.glob("responses*/*/*.json"))
RESULT = {op.name: op for op in OPERATIONS}
INVOICE = json.loads((FIXTURES / "responses-2023/invoices/retrieve.json").read_bytes())["data"]
TRANSACTION = json.loads((FIXTURES / "responses-2023/transactions/list.json").read_bytes())["data"][
    0
]
GOOD_EXCHANGE = {"pair": "BTCEUR", "rate": "50000.5", "fee": "0.1", "fee_currency": "EUR"}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def result_type(path: Path) -> Any:
    op = RESULT[f"{path.parent.name}.{path.stem}"]
    data = json.loads(path.read_bytes())["data"]
    if isinstance(data, list) and not isinstance(op.result, types.GenericAlias):
        return list[op.result]  # type: ignore[name-defined]
    return op.result


@pytest.mark.parametrize(
    "path", BODIES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}"
)
def test_every_recorded_body_decodes_to_the_same_models(engine: Engine, path: Path) -> None:
    tp = result_type(path)
    data, _ = engine.envelope(path.read_bytes(), tp)
    assert data == structure(json.loads(path.read_bytes(), parse_float=Decimal)["data"], tp)


def test_models_are_the_public_frozen_classes_down_to_nested_ones(engine: Engine) -> None:
    transactions = [{"txid": "t", "risk": {**RISK, "level": "high"}}]
    raw = body({**INVOICE, "transactions": transactions, "exchange": GOOD_EXCHANGE})
    invoice = engine.document(raw, Invoice)
    assert type(invoice) is Invoice
    assert type(invoice.transactions[0]) is InvoiceTransaction
    assert type(invoice.transactions[0].risk) is Risk
    assert invoice.transactions[0].risk is not None
    assert invoice.transactions[0].risk.level is RiskLevel.HIGH
    assert type(invoice.exchange) is Exchange
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        invoice.status = "x"  # type: ignore[misc]


RISK = {"score": 7.28, "level": "low", "resource_name": "x", "resource_category": "y"}


@pytest.mark.parametrize(
    ("json_text", "expected"),
    [
        ('"100.0"', "100.0"),
        ("100.0", "100.0"),  # the Java SDK's example callback sends numbers
        ("100", "100"),
        ("0.00000001", "1E-8"),
        ("1e2", "1E+2"),
        ('"-0.5"', "-0.5"),
        ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
    ],
)
def test_money_keeps_the_exact_text_of_strings_and_numbers(
    engine: Engine, json_text: str, expected: str
) -> None:
    raw = b'{"pair":"BTCEUR","rate":' + json_text.encode() + b"}"
    rate = engine.document(raw, Exchange).rate
    assert type(rate) is Decimal
    assert str(rate) == expected


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "abc", "", True, None, [1], {}]
)
def test_money_refuses_what_is_not_a_finite_amount(engine: Engine, value: object) -> None:
    with pytest.raises(DecodeError) as caught:
        engine.document(body({**GOOD_EXCHANGE, "rate": value}), Exchange)
    assert caught.value.kind == "invalid"
    assert "rate" in str(caught.value)


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_bare_nan_and_infinity_are_not_json(engine: Engine, constant: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        engine.document(b'{"pair":"BTCEUR","rate":' + constant + b"}", Exchange)
    assert caught.value.kind == "not_json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-18T07:09:54+00:00", datetime(2021, 10, 18, 7, 9, 54, tzinfo=UTC)),
        ("2023-07-11T08:55:52Z", datetime(2023, 7, 11, 8, 55, 52, tzinfo=UTC)),
        ("2021-11-25T08:51:51.869Z", datetime(2021, 11, 25, 8, 51, 51, 869000, tzinfo=UTC)),
        ("2021-11-25T08:51:51+0000", datetime(2021, 11, 25, 8, 51, 51, tzinfo=UTC)),
        (
            "2021-11-25T10:51:51+02:00",
            datetime(2021, 11, 25, 10, 51, 51, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2021-11-25T08:51:51", datetime(2021, 11, 25, 8, 51, 51, tzinfo=UTC)),
    ],
)
def test_every_timestamp_form_becomes_an_aware_datetime(
    engine: Engine, text: str, expected: datetime
) -> None:
    transaction = engine.document(body({**TRANSACTION, "created_at": text}), Transaction)
    assert transaction.created_at == expected
    assert transaction.created_at.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2021-13-01T00:00:00Z",
        "2021-11-25",  # a date alone
        "2021-11-25T10",
        "2021-11-25T10:00Z",  # no seconds
        1637830311,
        None,
    ],
)
def test_a_bad_timestamp_is_refused_with_its_field(engine: Engine, value: object) -> None:
    with pytest.raises(DecodeError) as caught:
        engine.document(body({**TRANSACTION, "created_at": value}), Transaction)
    assert caught.value.path == "$.created_at"


@pytest.mark.parametrize(("status", "member"), [("new", True), ("frozen", False)])
def test_known_enum_values_are_members_and_unknown_ones_plain_strings(
    engine: Engine, status: str, member: bool
) -> None:
    invoice = engine.document(body({**INVOICE, "status": status}), Invoice)
    assert invoice.status == status
    assert (type(invoice.status) is InvoiceStatus) is member
    assert (type(invoice.status) is str) is not member


def test_unknown_keys_are_ignored(engine: Engine) -> None:
    exchange = engine.document(body({**GOOD_EXCHANGE, "new_in_2027": {"x": [1]}}), Exchange)
    assert exchange == Exchange(
        pair="BTCEUR", rate=Decimal("50000.5"), fee=Decimal("0.1"), fee_currency="EUR"
    )


@pytest.mark.parametrize(("score", "ok"), [(7.28, True), (7, True), (True, False), ("7.28", False)])
def test_numbers_are_numbers_and_bools_are_not(engine: Engine, score: object, ok: bool) -> None:
    raw = body({**RISK, "score": score})
    if ok:
        assert engine.document(raw, Risk).score == float(score)  # type: ignore[arg-type]
    else:
        with pytest.raises(DecodeError, match="score"):
            engine.document(raw, Risk)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"pay_amount": "a lot"}, "$.data[3].pay_amount"),
        ({"pay_amount": None}, "$.data[3].pay_amount"),
        ({"pay_amount": "NaN"}, "$.data[3].pay_amount"),
        ({"exchange": {**GOOD_EXCHANGE, "fee": "-Infinity"}}, "$.data[3].exchange.fee"),
        ({"created_at": "yesterday"}, "$.data[3].created_at"),
        ({"status": 7}, "$.data[3].status"),
        ({"transactions": [{"txid": 1}]}, "$.data[3].transactions[0].txid"),
    ],
)
def test_an_error_names_the_path_of_the_first_bad_value(
    engine: Engine, change: dict[str, Any], path: str
) -> None:
    items = [INVOICE] * 3 + [{**INVOICE, **change}] + [INVOICE] * 2
    with pytest.raises(DecodeError) as caught:
        engine.envelope(body({"data": items}), list[Invoice])
    assert caught.value.kind == "invalid"
    assert caught.value.path == path
    assert path in str(caught.value)


def test_a_missing_required_field_is_named(engine: Engine) -> None:
    raw = body({k: v for k, v in INVOICE.items() if k != "pay_amount"})
    with pytest.raises(DecodeError, match="pay_amount"):
        engine.document(raw, Invoice)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"<html>proxy</html>", "not_json"),
        (b"", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "no_envelope"),
        (b'{"meta": {}}', "no_envelope"),
        (b"null", "no_envelope"),
    ],
)
def test_a_body_that_is_no_envelope_is_told_apart(engine: Engine, raw: bytes, kind: str) -> None:
    with pytest.raises(DecodeError) as caught:
        engine.envelope(raw, Invoice)
    assert caught.value.kind == kind


def _deeply_nested() -> dict[str, bytes]:
    depth = 100_000  # past any recursion limit; each level is a few bytes
    return {
        "objects in data": b'{"data":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}",
        "lists in data": b'{"data":' + b"[" * depth + b"]" * depth + b"}",
        "objects in an unknown key": (
            b'{"data":{"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b'},"meta":null}'
        ),
        "lists in meta": b'{"data":{},"meta":' + b"[" * depth + b"]" * depth + b"}",
    }


@pytest.mark.parametrize("name", list(_deeply_nested()))
@pytest.mark.parametrize("tp", [Invoice, list[Invoice], dict[str, Rate]], ids=str)
def test_a_body_nested_past_the_recursion_limit_is_a_decode_error(
    engine: Engine, name: str, tp: Any
) -> None:
    # msgspec raised RecursionError itself: an untyped exception out of every operation.
    raw = _deeply_nested()[name]
    for decode in (engine.envelope, engine.document):
        with pytest.raises(DecodeError) as caught:
            decode(raw, tp)
        assert len(str(caught.value)) <= 500
    with pytest.raises(DecodeError):
        engine.untyped(raw)


@pytest.mark.parametrize("data", [[], None, "rates", 3, [{"buy_rate": "1"}]])
def test_a_mapping_result_refuses_other_shapes(engine: Engine, data: object) -> None:
    with pytest.raises(DecodeError) as caught:
        engine.envelope(body({"data": data}), dict[str, Rate])
    assert caught.value.path == "$.data"


def _malformed_bodies() -> dict[str, bytes]:
    return {
        "20 KB string": body({"data": "a" * 20_000}),
        "50 KB string": body({"data": "a" * 50_000}),
        "2 MB string": body({"data": "a" * 2_000_000}),
        "10,000 bad elements": body({"data": [{"id": 1}] * 10_000}),
        "10,000 strings": body({"data": ["x" * 100] * 10_000}),
        "2 MB key": body({"data": {"k" * 2_000_000: 1}}),
    }


@pytest.mark.parametrize("name", list(_malformed_bodies()))
def test_a_malformed_body_costs_memory_in_proportion_and_a_short_message(
    engine: Engine, name: str
) -> None:
    raw = _malformed_bodies()[name]
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError) as caught:
            engine.envelope(raw, list[Invoice])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(str(caught.value)) <= 500
    # Parsing may hold the body's values once (dicts, strings): a few times its size, not
    # the hundreds of times one exception per element cost before.
    assert peak <= 30 * len(raw) + 1_000_000, f"{peak:,} bytes for a {len(raw):,}-byte body"


def test_a_callback_with_amounts_as_json_numbers_decodes_exactly(engine_in_use: Engine) -> None:
    # The Java SDK's README example sends "price_amount":100.0; numbers keep their text.
    raw = fixture_bytes("callbacks/invoice-status-changed.json")
    raw = raw.replace(b'"price_amount":"10.0"', b'"price_amount":100.0')
    raw = raw.replace(b'"pay_amount":"12.271023"', b'"pay_amount":12.271023')
    raw = raw.replace(b'"type":"Invoice",', b'"type":"Invoice","new_top_level":[1],')
    event = parse(raw)
    assert isinstance(event, InvoiceCallback)
    assert str(event.data.price_amount) == "100.0"
    assert event.data.pay_amount == Decimal("12.271023")


def test_a_callback_with_a_nan_amount_is_refused_with_its_path(engine_in_use: Engine) -> None:
    raw = fixture_bytes("callbacks/invoice-status-changed.json")
    raw = raw.replace(b'"price_amount":"10.0"', b'"price_amount":"NaN"')
    with pytest.raises(CallbackPayloadError, match=r"price_amount"):
        parse(raw)
