"""Bad arguments are refused before anything is sent, with an error naming the problem."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay
from cryptopay_async.models import (
    Beneficiary,
    BeneficiaryAddress,
    ChannelStatus,
    CustomerAddress,
    CustomerAddressParams,
    TransactionReferenceType,
)
from cryptopay_async.resources import OPERATIONS, Operation
from cryptopay_async.resources import _arguments as arg
from tests.resources.test_operations import BY_NAME, call_plan
from tests.support import Recorder, fixture_json, json_response, recorded_client

pytestmark = pytest.mark.anyio

Call = Callable[[AsyncCryptopay], Awaitable[Any]]

INVOICE: dict[str, Any] = {"price_currency": "EUR", "pay_currency": "BTC"}
WITHDRAWAL: dict[str, Any] = {
    "address": "bc1q...",
    "charged_currency": "EUR",
    "received_currency": "BTC",
}


def create_invoice(**kwargs: Any) -> Call:
    return lambda c: c.invoices.create(**{**INVOICE, **kwargs})


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (create_invoice(price_amount=10.5), TypeError, "not float"),
        (create_invoice(price_amount=Decimal("NaN")), ValueError, "finite"),
        (create_invoice(price_amount=Decimal("Infinity")), ValueError, "finite"),
        (create_invoice(price_amount="ten"), ValueError, "not a decimal"),
        (create_invoice(price_amount="nan"), ValueError, "finite"),
        (create_invoice(price_amount=" 10"), ValueError, "whitespace"),
        (create_invoice(price_amount=True), TypeError, "price_amount"),
        (create_invoice(price_amount=math.inf), TypeError, "not float"),
        (create_invoice(price_amount=10, metadata={"a": 1}), TypeError, "metadata"),
        (create_invoice(price_amount=10, pricecurrency="EUR"), TypeError, "pricecurrency"),
        (create_invoice(price_amount=10, custom_id=42), TypeError, "custom_id"),
        (lambda c: c.invoices.retrieve(""), ValueError, "invoice_id"),
        (lambda c: c.invoices.retrieve(None), TypeError, "invoice_id"),
        (lambda c: c.invoices.retrieve(".."), ValueError, "invoice_id must not be '..'"),
        (lambda c: c.customers.update("."), ValueError, "customer_id must not be '.'"),
        (lambda c: c.invoices.retrieve("\udcff"), ValueError, "invoice_id is not valid Unicode"),
        (
            create_invoice(price_amount=10, custom_id="A\ud800"),
            ValueError,
            "custom_id is not valid Unicode text: '\\ud800' at position 1",
        ),
        (create_invoice(price_amount=10, metadata={"k": "\udcff"}), ValueError, "metadata['k']"),
        (
            lambda c: c.subscriptions.create(
                name="n",
                amount="5",
                currency="EUR",
                period="month",
                period_quantity=10**100_000,
                payer_email="a@b.c",
                starts_at=datetime(2030, 1, 1, tzinfo=UTC),
            ),
            ValueError,
            "period_quantity is out of range: 332193 bits, at most 63",
        ),
        (lambda c: c.channels.update("id", status="paused"), ValueError, "'enabled', 'disabled'"),
        (
            lambda c: c.subscriptions.create(
                name="n",
                amount="5",
                currency="EUR",
                period="month",
                period_quantity=1,
                payer_email="a@b.c",
                starts_at=datetime(2030, 1, 1),
            ),
            ValueError,
            "naive",
        ),
        (
            lambda c: c.subscriptions.create(
                name="n",
                amount="5",
                currency="EUR",
                period="fortnight",
                period_quantity=1,
                payer_email="a@b.c",
                starts_at=datetime(2030, 1, 1, tzinfo=UTC),
            ),
            ValueError,
            "period must be one of",
        ),
        (
            lambda c: c.transactions.list(created_at_from=datetime(2030, 1, 1)),
            ValueError,
            "created_at_from",
        ),
        (lambda c: c.coin_withdrawals.create(**WITHDRAWAL), ValueError, "exactly one of"),
        (
            lambda c: c.coin_withdrawals.create(
                **WITHDRAWAL, charged_amount="1", received_amount="1"
            ),
            ValueError,
            "got charged_amount, received_amount",
        ),
        (
            lambda c: c.exchange_transfers.create(charged_currency="EUR", received_currency="BTC"),
            ValueError,
            "exactly one of charged_amount, received_amount",
        ),
        (
            lambda c: c.customers.create(
                id="C-1", currency="EUR", addresses=[{"address": "x", "currency": "BTC"}]
            ),
            ValueError,
            "addresses[0]",
        ),
        (
            lambda c: c.customers.create(
                id="C-1",
                currency="EUR",
                addresses=[{"address": "x", "currency": "BTC", "network": "bitcoin", "memo": 1}],
            ),
            TypeError,
            "memo",
        ),
        (
            lambda c: c.customers.create(
                id="C-1",
                currency="EUR",
                addresses=[{"address": "bc1q\udcff", "currency": "BTC", "network": "bitcoin"}],
            ),
            ValueError,
            "addresses cannot be sent as JSON",
        ),
        (
            lambda c: c.customers.create(id="C-1", currency="EUR", addresses="bc1q"),
            TypeError,
            "addresses",
        ),
        (
            lambda c: c.coin_withdrawals.list_network_fees(all_networks="yes"),
            TypeError,
            "all_networks",
        ),
    ],
)
async def test_refused_before_sending(call: Call, error: type[Exception], fragment: str) -> None:
    recorder = Recorder(lambda r: json_response(500, {}))
    async with recorded_client(recorder) as client:
        with pytest.raises(error) as caught:
            await call(client)
    assert fragment in str(caught.value)
    assert recorder.requests == []


def invoice_answer(_: object) -> Any:
    return json_response(201, fixture_json("responses-2023/invoices/create.json"))


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (Decimal("100.0"), "100.0"),
        (Decimal("0.00184519"), "0.00184519"),
        (Decimal("1E+2"), "100"),
        ("100.0", "100.0"),
        ("0.10", "0.10"),
        (42, "42"),
    ],
)
async def test_amounts_are_sent_as_exact_decimal_strings(amount: object, sent: str) -> None:
    recorder = Recorder(invoice_answer)
    async with recorded_client(recorder) as client:
        await client.invoices.create(price_amount=amount, **INVOICE)  # type: ignore[arg-type]
    assert json.loads(recorder.requests[0].content)["price_amount"] == sent


async def test_optional_arguments_left_out_are_not_sent() -> None:
    recorder = Recorder(invoice_answer)
    async with recorded_client(recorder) as client:
        await client.invoices.create(price_amount=1, custom_id="ORDER-1", **INVOICE)
    assert json.loads(recorder.requests[0].content) == {
        "price_amount": "1",
        "price_currency": "EUR",
        "pay_currency": "BTC",
        "custom_id": "ORDER-1",
    }


async def test_enums_accept_member_or_string_and_datetimes_go_out_in_utc() -> None:
    recorder = Recorder(
        lambda r: json_response(200, {"data": [], "meta": {"total": 0, "has_more": False}})
    )
    berlin = timezone(timedelta(hours=1))
    async with recorded_client(recorder) as client:
        await client.transactions.list(
            created_at_from=datetime(2021, 10, 1, 1, 0, tzinfo=berlin),
            reference_type=TransactionReferenceType.INVOICE,
            risk_level="high",
        )
        await client.channels.list()
    assert recorder.requests[0].url.raw_path.decode() == (
        "/api/transactions?created_at_from=2021-10-01T00%3A00%3A00%2B00%3A00"
        "&reference_type=Invoice&risk_level=high"
    )
    assert recorder.requests[1].url.raw_path.decode() == "/api/channels"


async def test_nested_arguments_accept_models_or_dicts_alike() -> None:
    recorder = Recorder(
        lambda r: json_response(201, fixture_json("responses-2023/customers/create.json"))
    )
    as_dict: CustomerAddressParams = {"address": "bc1q", "currency": "BTC", "network": "bitcoin"}
    async with recorded_client(recorder) as client:
        await client.customers.create(id="C 1", currency="EUR", addresses=[as_dict])
        await client.customers.create(
            id="C 1", currency="EUR", addresses=[CustomerAddress(**as_dict)]
        )
    first, second = (json.loads(r.content) for r in recorder.requests)
    assert first == second == {"id": "C 1", "currency": "EUR", "addresses": [as_dict]}


async def test_beneficiary_leaves_out_unset_address_lines() -> None:
    recorder = Recorder(
        lambda r: json_response(201, fixture_json("responses-2023/coin_withdrawals/create.json"))
    )
    async with recorded_client(recorder) as client:
        await client.coin_withdrawals.create(
            **WITHDRAWAL,
            charged_amount="25",
            travel_rule_compliant=True,
            beneficiary=Beneficiary(
                type="natural_person", name="Ada", address=BeneficiaryAddress(country="GB")
            ),
            custom_id="PAYOUT-1",
        )
    body = json.loads(recorder.requests[0].content)
    assert body["beneficiary"] == {
        "type": "natural_person",
        "name": "Ada",
        "address": {"country": "GB"},
    }
    assert body["travel_rule_compliant"] is True


async def test_boolean_query_goes_out_as_true_or_false() -> None:
    recorder = Recorder(lambda r: json_response(200, {"data": []}))
    async with recorded_client(recorder) as client:
        await client.coin_withdrawals.list_network_fees(all_networks=True)
        await client.coin_withdrawals.list_network_fees(all_networks=False)
    assert [r.url.query.decode() for r in recorder.requests] == [
        "all_networks=true",
        "all_networks=false",
    ]


async def test_channel_status_enum_member_is_sent_as_its_value() -> None:
    recorder = Recorder(
        lambda r: json_response(200, fixture_json("responses-2023/channels/update.json"))
    )
    async with recorded_client(recorder) as client:
        await client.channels.update(
            "15d0bb11-1e9f-4295-bec5-abd9d5a906a1", status=ChannelStatus.DISABLED
        )
    assert json.loads(recorder.requests[0].content) == {"status": "disabled"}


async def test_risks_score_is_deprecated() -> None:
    recorder = Recorder(
        lambda r: json_response(200, fixture_json("responses-2023/risks/score.json"))
    )
    async with recorded_client(recorder) as client:
        with pytest.warns(DeprecationWarning, match="deprecated"):
            risk = await client.risks.score(address="x", currency="BTC", type="source_of_funds")
    assert risk.score == 7.5


AMOUNT_PARAMS = [
    (op, param.name) for op in OPERATIONS for param in (op.body or ()) if param.check is arg.amount
]


@pytest.mark.parametrize(
    ("op", "param"), AMOUNT_PARAMS, ids=[f"{o.name}.{p}" for o, p in AMOUNT_PARAMS]
)
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1e9999999", "10000000 digits before the decimal point, at most 30"),
        ("0e-999999999", "999999999 digits after the decimal point, at most 30"),
        (Decimal("1E+30"), "31 digits before"),
        pytest.param(10**100_000, "about 100001 digits before", id="10**100000"),
        pytest.param("1" * 10_000, "10000 characters long, too long for", id="'1'*10000"),
    ],
)
async def test_every_amount_argument_refuses_amplifying_amounts(
    op: Operation[Any], param: str, value: object, fragment: str
) -> None:
    args, kwargs, _ = call_plan(BY_NAME[op.name])
    kwargs[param] = value
    recorder = Recorder(lambda r: json_response(500, {}))
    resource, operation = op.name.split(".")
    async with recorded_client(recorder) as client:
        with pytest.raises(ValueError, match=f"^{param} ") as caught:
            await getattr(getattr(client, resource), operation)(*args, **kwargs)
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 200
    assert recorder.requests == []


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.decimals(),
        st.integers(),
        st.text(max_size=120),
        st.from_regex(r"-?\d{1,40}(\.\d{0,40})?([eE][+-]?\d{1,10})?", fullmatch=True),
    )
)
@example("0" * 22 + "\x1f" * 11 + "\U00011af9" * 9)  # found: a long repr in the message
def test_an_amount_is_sent_exactly_or_refused_in_one_short_line(value: Decimal | int | str) -> None:
    sent: str | None = None
    error = ""
    try:
        sent = arg.amount("amount", value)
    except ValueError as exc:
        error = str(exc)
    if sent is None:
        assert error.startswith("amount ")
        assert len(error) < 200
        assert "\n" not in error
    else:
        assert Decimal(sent) == Decimal(value)
        assert len(sent) <= 2 * arg.MAX_AMOUNT_DIGITS + 2


any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    custom_id=any_text,
    description=any_text,
    metadata=st.dictionaries(any_text, any_text, max_size=3),
)
async def test_any_text_is_sent_as_given_or_refused_naming_its_argument(
    custom_id: str, description: str, metadata: dict[str, str]
) -> None:
    recorder = Recorder(invoice_answer)
    call = create_invoice(
        price_amount="1", custom_id=custom_id, description=description, metadata=metadata
    )
    async with recorded_client(recorder) as client:
        try:
            await call(client)
        except ValueError as exc:
            refused = str(exc)
        else:
            refused = ""
    if refused:
        assert refused.split(" ")[0].split("[")[0] in {"custom_id", "description", "metadata"}
        assert recorder.requests == []
    else:
        sent = json.loads(recorder.requests[0].content)
        assert (sent["custom_id"], sent["description"]) == (custom_id, description)
        assert sent.get("metadata", {}) == metadata
