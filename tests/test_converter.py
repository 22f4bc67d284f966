"""The compiled fast decoders and the detailed cattrs path agree, and both refuse bad data."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import cattrs
import pytest

from cryptopay_async._converter import _fast, converter, structure
from cryptopay_async.models import Exchange, Invoice, Risk, Transaction
from cryptopay_async.resources import OPERATIONS
from tests.support import FIXTURES

BODIES = sorted(FIXTURES.glob("responses*/*/*.json"))
RESULT = {op.name: op for op in OPERATIONS}


def result_type(path: Path) -> Any:
    op = RESULT[f"{path.parent.name}.{path.stem}"]
    data = json.loads(path.read_bytes())["data"]
    return data, types.GenericAlias(list, (op.result,)) if isinstance(
        data, list
    ) and not isinstance(op.result, types.GenericAlias) else op.result


@pytest.mark.parametrize(
    "path", BODIES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}"
)
def test_fast_and_detailed_paths_build_equal_models(path: Path) -> None:
    data, tp = result_type(path)
    assert _fast.decode(data, tp) == converter.structure(data, tp)


GOOD_EXCHANGE = {"pair": "BTCEUR", "rate": "50000.5", "fee": "0.1", "fee_currency": "EUR"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**GOOD_EXCHANGE, "rate": "NaN"}, "rate"),
        ({**GOOD_EXCHANGE, "rate": "Infinity"}, "rate"),
        ({**GOOD_EXCHANGE, "rate": 50000.5}, "rate"),
        ({**GOOD_EXCHANGE, "rate": None}, "rate"),
        ({**GOOD_EXCHANGE, "pair": 1}, "pair"),
        ({k: v for k, v in GOOD_EXCHANGE.items() if k != "pair"}, "pair"),
        ({**GOOD_EXCHANGE, "fee": "abc"}, "fee"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(data: dict[str, Any], field: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the fast path may fail in any way
        _fast.decode(data, Exchange)
    with pytest.raises(cattrs.ClassValidationError) as caught:
        structure(data, Exchange)
    assert field in "; ".join(cattrs.transform_error(caught.value))


@pytest.mark.parametrize(("score", "ok"), [(7.28, True), (7, True), (True, False), ("7.28", False)])
def test_numbers_are_numbers_and_bools_are_not(score: object, ok: bool) -> None:
    data = {"score": score, "level": "low", "resource_name": "x", "resource_category": "y"}
    if ok:
        assert structure(data, Risk).score == float(score)  # type: ignore[arg-type]
    else:
        with pytest.raises(cattrs.ClassValidationError):
            structure(data, Risk)


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
def test_every_timestamp_form_becomes_an_aware_datetime(text: str, expected: datetime) -> None:
    raw = json.loads((FIXTURES / "responses-2023/transactions/list.json").read_bytes())["data"][0]
    transaction = structure({**raw, "created_at": text}, Transaction)
    assert transaction.created_at == expected
    assert transaction.created_at.utcoffset() is not None


def test_unknown_keys_are_ignored_on_both_paths() -> None:
    data = {**GOOD_EXCHANGE, "new_in_2027": {"x": 1}}
    assert structure(data, Exchange) == converter.structure(data, Exchange)
    assert structure(data, Exchange).rate == Decimal("50000.5")


def test_missing_required_invoice_fields_name_the_model() -> None:
    raw = json.loads((FIXTURES / "responses-2023/invoices/retrieve.json").read_bytes())["data"]
    del raw["pay_amount"]
    with pytest.raises(cattrs.ClassValidationError) as caught:
        structure(raw, Invoice)
    assert "Invoice" in str(caught.value)
    assert any("pay_amount" in m for m in cattrs.transform_error(caught.value))
