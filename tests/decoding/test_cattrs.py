"""The cattrs converter on Python values (nested arguments, ``to_dict``).

Bytes to models, on both engines, are in ``test_engines.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import cattrs
import pytest

from cryptopay_async._decoding._cattrs import error_paths, structure
from cryptopay_async.models import Exchange, Invoice, to_dict
from tests.support import fixture_json

GOOD_EXCHANGE = {"pair": "BTCEUR", "rate": "50000.5", "fee": "0.1", "fee_currency": "EUR"}


@pytest.mark.parametrize(
    ("rate", "ok"),
    [("1.5", True), (Decimal("1.5"), True), (2, True), (1.5, False), (Decimal("NaN"), False)],
)
def test_a_binary_float_is_never_money(rate: object, ok: bool) -> None:
    data = {**GOOD_EXCHANGE, "rate": rate}
    if ok:
        assert structure(data, Exchange).rate == Decimal(str(rate))
    else:
        with pytest.raises(cattrs.ClassValidationError):
            structure(data, Exchange)


def test_to_dict_gives_back_what_structure_reads() -> None:
    data = fixture_json("responses-2023/invoices/retrieve.json")["data"]
    invoice = structure(data, Invoice)
    assert structure(to_dict(invoice), Invoice) == invoice
    assert to_dict(invoice)["price_amount"] == data["price_amount"]


def test_a_list_stops_at_its_first_bad_element() -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure([GOOD_EXCHANGE, *[{**GOOD_EXCHANGE, "pair": 1}] * 10_000], list[Exchange])
    assert error_paths(caught.value) == ["expected a string, got 1 @ $[1].pair"]


@pytest.mark.parametrize("value", ["a" * 10_000, [1] * 10_000, {"k": "v" * 10_000}])
def test_error_messages_show_a_short_preview_of_the_value(value: Any) -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure({**GOOD_EXCHANGE, "rate": value}, Exchange)
    (message,) = error_paths(caught.value)
    assert len(message) < 100
