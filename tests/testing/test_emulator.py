"""The emulator speaks the real protocol: shapes, authentication, errors, state, controls."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from cryptopay_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncCryptopay,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from cryptopay_async._signing import sign
from cryptopay_async.models import (
    CoinWithdrawalStatus,
    InvoiceStatus,
    InvoiceStatusContext,
    Rate,
)
from cryptopay_async.resources import OPERATIONS, Operation
from cryptopay_async.testing import CryptopayEmulator, Faults
from tests.support import FIXTURES

pytestmark = pytest.mark.anyio

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def emulator_client() -> AsyncIterator[tuple[CryptopayEmulator, AsyncCryptopay]]:
    emulator = CryptopayEmulator()
    async with emulator.client(rate_limiter=None) as client:
        yield emulator, client


def keys_of(data: Any) -> set[str]:
    item = data[0] if isinstance(data, list) else data
    if (
        isinstance(item, dict)
        and all(isinstance(v, dict) for v in item.values())
        and "/" in "".join(item)
    ):
        item = next(iter(item.values()))  # rates.all: a map of pair -> rate
    return set(item)


def recorded(operation: str) -> Any:
    resource, name = operation.split(".")
    return json.loads((FIXTURES / "responses-2023" / resource / f"{name}.json").read_bytes())


async def populate(emulator: CryptopayEmulator, client: AsyncCryptopay) -> dict[str, str]:
    """One of everything, through the SDK; returns the ids the raw calls below need."""
    ids: dict[str, str] = {}
    invoice = await client.invoices.create(
        price_amount="50.0", price_currency="EUR", pay_currency="ETH", custom_id="INV-1"
    )
    emulator.pay_invoice(invoice.id, Decimal(invoice.pay_amount) / 2)
    ids["invoice"] = invoice.id
    over = await client.invoices.create(
        price_amount="50.0", price_currency="EUR", pay_currency="ETH"
    )
    emulator.pay_invoice(over.id, Decimal(over.pay_amount) * 2)
    ids["refunded_invoice"] = over.id
    channel = await client.channels.create(
        name="Channel", pay_currency="BTC", receiver_currency="EUR", custom_id="CH-1"
    )
    ids["channel"] = channel.id
    ids["channel_payment"] = emulator.pay_channel(channel.id, "0.001")["id"]
    withdrawal = await client.coin_withdrawals.create(
        address="2Mz3bcjSVHG8uQJpNjmCxp24VdTjwaqmFcJ",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="100.0",
        custom_id="PAY-1",
    )
    ids["withdrawal"] = withdrawal.id
    await client.customers.create(
        id="CUSTOMER-123",
        currency="EUR",
        addresses=[
            {
                "address": "2N9wPGx67zdSeAbXi15qHgoZ9Hb9Uxhd2uQ",
                "currency": "BTC",
                "network": "bitcoin",
            }
        ],
    )
    transfer = await client.exchange_transfers.create(
        charged_currency="EUR", received_currency="BTC", charged_amount="100.0"
    )
    ids["transfer"] = transfer.id
    subscription = await client.subscriptions.create(
        name="Plan",
        amount="100.0",
        currency="EUR",
        period="month",
        period_quantity=3,
        payer_email="user@example.com",
        starts_at=datetime.now(UTC) + timedelta(days=4),
        custom_id="SUB-1",
    )
    ids["subscription"] = subscription.id
    ids["account"] = (await client.accounts.list())[0].id
    ids["eur_account"] = next(a.id for a in await client.accounts.list() if a.currency == "EUR")
    return ids


async def test_every_operation_answers_with_the_recorded_key_sets(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulator_client
    ids = await populate(emulator, client)
    invoice, channel = ids["invoice"], ids["channel"]
    recalculation = await client.request("POST", f"/api/invoices/{invoice}/recalculations", json={})
    withdrawal_two_step = await client.request(
        "POST",
        "/api/coin_withdrawals",
        json={
            "address": "2Mz3bc",
            "charged_currency": "EUR",
            "received_currency": "BTC",
            "charged_amount": "50.0",
        },
    )
    transfer_two_step = await client.request(
        "POST",
        "/api/exchange_transfers",
        json={"charged_currency": "EUR", "received_currency": "BTC", "charged_amount": "20.0"},
    )
    calls: dict[str, tuple[str, str, Any]] = {
        "accounts.list": ("GET", "/api/accounts", None),
        "accounts.list_transactions": (
            "GET",
            f"/api/accounts/{ids['eur_account']}/transactions",
            None,
        ),
        "channels.create": (
            "POST",
            "/api/channels",
            {"name": "n", "pay_currency": "BTC", "receiver_currency": "EUR"},
        ),
        "channels.list": ("GET", "/api/channels", None),
        "channels.list_payments": ("GET", f"/api/channels/{channel}/payments", None),
        "channels.retrieve": ("GET", f"/api/channels/{channel}", None),
        "channels.retrieve_by_custom_id": ("GET", "/api/channels/custom_id/CH-1", None),
        "channels.retrieve_payment": (
            "GET",
            f"/api/channels/{channel}/payments/{ids['channel_payment']}",
            None,
        ),
        "channels.update": ("PATCH", f"/api/channels/{channel}", {"name": "renamed"}),
        "coin_withdrawals.commit": (
            "POST",
            f"/api/coin_withdrawals/{withdrawal_two_step['data']['id']}/commit",
            None,
        ),
        "coin_withdrawals.create": (
            "POST",
            "/api/coin_withdrawals",
            {
                "address": "2Mz3",
                "charged_currency": "EUR",
                "received_currency": "BTC",
                "charged_amount": "30.0",
                "force_commit": True,
            },
        ),
        "coin_withdrawals.list": ("GET", "/api/coin_withdrawals", None),
        "coin_withdrawals.list_network_fees": ("GET", "/api/coin_withdrawals/network_fees", None),
        "coin_withdrawals.retrieve": ("GET", f"/api/coin_withdrawals/{ids['withdrawal']}", None),
        "coin_withdrawals.retrieve_by_custom_id": (
            "GET",
            "/api/coin_withdrawals/custom_id/PAY-1",
            None,
        ),
        "coins.list": ("GET", "/api/coins", None),
        "customers.create": ("POST", "/api/customers", {"id": "C-2", "currency": "EUR"}),
        "customers.list": ("GET", "/api/customers", None),
        "customers.retrieve": ("GET", "/api/customers/CUSTOMER-123", None),
        "customers.update": ("PATCH", "/api/customers/CUSTOMER-123", {"currency": "USD"}),
        "exchange_transfers.commit": (
            "POST",
            f"/api/exchange_transfers/{transfer_two_step['data']['id']}/commit",
            None,
        ),
        "exchange_transfers.create": (
            "POST",
            "/api/exchange_transfers",
            {"charged_currency": "EUR", "received_currency": "BTC", "received_amount": "0.001"},
        ),
        "exchange_transfers.retrieve": ("GET", f"/api/exchange_transfers/{ids['transfer']}", None),
        "invoices.commit_recalculation": (
            "POST",
            f"/api/invoices/{invoice}/recalculations/{recalculation['data']['id']}/commit",
            None,
        ),
        "invoices.create": (
            "POST",
            "/api/invoices",
            {"price_amount": "100.0", "price_currency": "EUR", "pay_currency": "BTC"},
        ),
        "invoices.create_recalculation": ("__done__", "", recalculation),
        "invoices.create_refund": (
            "POST",
            f"/api/invoices/{ids['refunded_invoice']}/refunds",
            {"address": "0xabc"},
        ),
        "invoices.list": ("GET", "/api/invoices", None),
        "invoices.list_refunds": ("GET", f"/api/invoices/{ids['refunded_invoice']}/refunds", None),
        "invoices.retrieve": ("GET", f"/api/invoices/{invoice}", None),
        "invoices.retrieve_by_custom_id": ("GET", "/api/invoices/custom_id/INV-1", None),
        "rates.all": ("GET", "/api/rates", None),
        "rates.retrieve": ("GET", "/api/rates/BTC/EUR", None),
        "risks.score": (
            "POST",
            "/api/risks/score",
            {"address": "x", "currency": "BTC", "type": "source_of_funds"},
        ),
        "subscriptions.cancel": ("POST", f"/api/subscriptions/{ids['subscription']}/cancel", None),
        "subscriptions.create": (
            "POST",
            "/api/subscriptions",
            {
                "name": "p",
                "amount": "5",
                "currency": "EUR",
                "period": "week",
                "period_quantity": 1,
                "payer_email": "a@b.c",
                "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            },
        ),
        "subscriptions.list": ("GET", "/api/subscriptions", None),
        "subscriptions.retrieve": ("GET", f"/api/subscriptions/{ids['subscription']}", None),
        "subscriptions.retrieve_by_custom_id": ("GET", "/api/subscriptions/custom_id/SUB-1", None),
        "transactions.list": ("GET", "/api/transactions?reference_type=Invoice", None),
    }
    assert sorted(calls) == sorted(op.name for op in OPERATIONS), "drive every operation"
    for operation, (method, path, body) in calls.items():
        answer = body if method == "__done__" else await client.request(method, path, json=body)
        want = recorded(operation)
        assert set(answer) == set(want), operation  # data, and meta exactly where recorded
        got_keys, want_keys = keys_of(answer["data"]), keys_of(want["data"])
        if operation == "invoices.retrieve":
            want_keys |= {"exchange"}  # the recorded invoice was priced in its pay currency
        if operation == "channels.list_payments":
            want_keys |= {"exchange"}  # the first recorded item is on hold, ours completed
        assert got_keys == want_keys, operation
        if "meta" in want:
            assert set(answer["meta"]) == {"total", "has_more"}, operation


async def test_lists_are_newest_first_in_pages_of_50_with_a_total(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulator_client
    for index in range(120):
        await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC", custom_id=f"N-{index}"
        )
    first = await client.invoices.list()
    assert (len(first.data), first.total, first.has_more) == (50, 120, True)
    assert first.data[0].custom_id == "N-119"
    walked = [invoice.custom_id async for invoice in client.invoices.list()]
    assert walked == [f"N-{i}" for i in reversed(range(120))]


async def test_invoice_payments_move_status_and_context_as_documented(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulator_client
    outcomes = []
    for share, late in [
        (Decimal(1), False),
        (Decimal("0.5"), False),
        (Decimal(2), False),
        (Decimal(1), True),
    ]:
        invoice = await client.invoices.create(
            price_amount="100", price_currency="EUR", pay_currency="BTC"
        )
        emulator.pay_invoice(invoice.id, Decimal(invoice.pay_amount) * share, late=late)
        after = await client.invoices.retrieve(invoice.id)
        outcomes.append((after.status, after.status_context, len(after.transactions)))
    assert outcomes == [
        (InvoiceStatus.COMPLETED, None, 1),
        (InvoiceStatus.UNRESOLVED, InvoiceStatusContext.UNDERPAID, 1),
        (InvoiceStatus.UNRESOLVED, InvoiceStatusContext.OVERPAID, 1),
        (InvoiceStatus.UNRESOLVED, InvoiceStatusContext.PAID_LATE, 1),
    ]
    credited = [e for e in emulator.ledger if e.action == "invoice_paid"]
    assert len(credited) == 1
    assert credited[0].amount == Decimal("99.0")  # price less the 1 % fee


async def test_two_step_withdrawal_commit_and_completion(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulator_client
    created = await client.coin_withdrawals.create(
        address="2Mz3",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="100.0",
        custom_id="PAYOUT-9",
    )
    assert created.status is CoinWithdrawalStatus.NEW
    assert emulator.ledger_for("PAYOUT-9") == []  # nothing moved before the commit
    committed = await client.coin_withdrawals.commit(created.id)
    assert committed.status is CoinWithdrawalStatus.PENDING
    with pytest.raises(ConflictError):
        await client.coin_withdrawals.commit(created.id)
    emulator.complete_withdrawal(created.id)
    done = await client.coin_withdrawals.retrieve_by_custom_id("PAYOUT-9")
    assert done.status is CoinWithdrawalStatus.COMPLETED
    assert done.txid
    assert [e.amount for e in emulator.ledger_for("PAYOUT-9")] == [Decimal("-100.0")]


@pytest.mark.parametrize(
    ("call", "error", "detail"),
    [
        (lambda c: c.invoices.retrieve(UNKNOWN_UUID), NotFoundError, None),
        (lambda c: c.invoices.retrieve("not-a-uuid"), UnprocessableEntityError, "invoice_id"),
        (
            lambda c: c.invoices.create(price_amount="0", price_currency="EUR", pay_currency="BTC"),
            UnprocessableEntityError,
            "price_amount",
        ),
        (
            lambda c: c.invoices.create(
                price_amount="-5", price_currency="EUR", pay_currency="BTC"
            ),
            UnprocessableEntityError,
            "price_amount",
        ),
        (
            lambda c: c.invoices.create(price_amount="5", price_currency="XXX", pay_currency="BTC"),
            UnprocessableEntityError,
            "price_currency",
        ),
        (lambda c: c.channels.retrieve("nope"), UnprocessableEntityError, "channel_id"),
        (lambda c: c.accounts.list_transactions("nope"), UnprocessableEntityError, "account_id"),
        (
            lambda c: c.request("GET", "/api/invoices?starting_after=nope"),
            UnprocessableEntityError,
            "starting_after",
        ),
        (
            lambda c: c.coin_withdrawals.create(
                address="2Mz3", charged_currency="EUR", received_currency="BTC", charged_amount="1"
            ),
            UnprocessableEntityError,
            "charged_amount",
        ),
        (
            lambda c: c.coin_withdrawals.create(
                address="2Mz3",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="99999999",
            ),
            UnprocessableEntityError,
            "charged_amount",
        ),
        (
            lambda c: c.coin_withdrawals.create(
                address="risky-mixer",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="10",
            ),
            UnprocessableEntityError,
            None,
        ),
        (lambda c: c.rates.retrieve("BTC", "XYZ"), NotFoundError, None),
        (lambda c: c.customers.retrieve("nobody"), NotFoundError, None),
    ],
)
async def test_errors_carry_the_documented_payload(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
    call: Any,
    error: type,
    detail: str | None,
) -> None:
    _, client = emulator_client
    with pytest.raises(APIStatusError) as caught:
        await call(client)
    assert type(caught.value) is error
    assert re.fullmatch(r"[0-9a-f]{32}", caught.value.request_id or "")
    if detail is not None:
        assert caught.value.code == "invalid"
        assert detail in [d.target for d in caught.value.details]


async def test_a_reused_custom_id_is_a_409_and_nothing_is_created_twice(
    emulator_client: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulator_client
    await client.invoices.create(
        price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id="ONCE"
    )
    with pytest.raises(ConflictError) as caught:
        await client.invoices.create(
            price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id="ONCE"
        )
    assert caught.value.code == "duplicate_custom_id"
    assert (await client.invoices.list()).total == 1


def signed_headers(
    emulator: CryptopayEmulator,
    path: str,
    *,
    key: str | None = None,
    secret: str | None = None,
    date: datetime | None = None,
) -> dict[str, str]:
    when = format_datetime(date or datetime.now(UTC), usegmt=True)
    signature = sign(secret or emulator.api_secret, "GET", b"", when, path)
    return {
        "Date": when,
        "Content-Type": "application/json",
        "Authorization": f"HMAC {key or emulator.api_key}:{signature}",
    }


@pytest.mark.parametrize(
    "tamper",
    [
        {"key": "unknown-key"},
        {"secret": "not-the-secret"},
        {"skew": -timedelta(minutes=16)},
        {"skew": timedelta(minutes=16)},
        {"missing": True},
    ],
    ids=["unknown key", "wrong signature", "date too old", "date in the future", "unsigned"],
)
async def test_authentication_failures_are_401_with_the_documented_payload(
    tamper: dict[str, Any],
) -> None:
    emulator = CryptopayEmulator()
    path = "/api/rates/BTC/EUR"
    tamper = dict(tamper)  # parameters are shared between the asyncio and trio runs
    if "skew" in tamper:  # from now, not from collection: a long suite ran past the minute
        tamper["date"] = datetime.now(UTC) + tamper.pop("skew")
    headers = {} if tamper.pop("missing", False) else signed_headers(emulator, path, **tamper)
    transport = httpx.ASGITransport(app=emulator.asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.get(path, headers=headers)
        good = await http.get(path, headers=signed_headers(emulator, path))
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == {"code": "unauthenticated", "message": "unauthenticated", "details": []}
    assert re.fullmatch(r"[0-9a-f]{32}", body["meta"]["request_id"])
    assert good.status_code == 200


async def test_the_client_gets_authentication_errors_for_bad_credentials() -> None:
    emulator = CryptopayEmulator()
    async with emulator.client(api_secret="wrong", rate_limiter=None) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.rates.all()
    assert caught.value.code == "unauthenticated"


async def test_a_key_over_its_limit_gets_429() -> None:
    emulator = CryptopayEmulator(rate_limit=5, rate_period=60)
    async with emulator.client(rate_limiter=None, max_retries=0) as client:
        for _ in range(5):
            await client.rates.retrieve("BTC", "EUR")
        with pytest.raises(RateLimitError) as caught:
            await client.rates.retrieve("BTC", "EUR")
    assert caught.value.code == "rate_limit_exceeded"
    assert emulator.rate_limited == 1


async def test_faults_before_and_after_processing() -> None:
    emulator = CryptopayEmulator(faults=Faults(maintenance=True))
    async with emulator.client(rate_limiter=None, max_retries=0) as client:
        with pytest.raises(ServiceUnavailableError):
            await client.invoices.create(price_amount="5", price_currency="EUR", pay_currency="BTC")
        assert emulator.api.objects["invoices"] == {}  # refused before processing
        emulator.faults = Faults(error_500_rate=1.0)
        with pytest.raises(InternalServerError):
            await client.invoices.create(
                price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id="AFTER-500"
            )
        emulator.faults = Faults(drop_rate=1.0)
        with pytest.raises(APIConnectionError):
            await client.invoices.create(
                price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id="AFTER-DROP"
            )
        emulator.faults = Faults()
        # Both were processed although the client saw failures: read them back by custom id.
        assert (await client.invoices.retrieve_by_custom_id("AFTER-500")).custom_id == "AFTER-500"
        assert (await client.invoices.retrieve_by_custom_id("AFTER-DROP")).custom_id == "AFTER-DROP"


async def test_transient_503s_are_retried_and_a_post_is_never_repeated_after_a_drop() -> None:
    emulator = CryptopayEmulator(faults=Faults(error_503_rate=0.5, seed=7))
    quick = RetryPolicy(max_retries=6, initial_backoff=0.001, max_backoff=0.01)
    async with emulator.client(rate_limiter=None, retry_policy=quick, max_retries=6) as client:
        for index in range(20):
            await client.invoices.create(
                price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id=f"R-{index}"
            )
        assert emulator.errors_answered.get(503, 0) > 0
        assert (await client.invoices.list()).total == 20
        emulator.faults = Faults(drop_rate=1.0)
        before = emulator.requests_seen
        with pytest.raises(APIConnectionError) as caught:  # no custom_id: nothing to read back
            await client.coin_withdrawals.create(
                address="2Mz3",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="10",
                force_commit=True,
            )
        assert caught.value.maybe_processed is True
        assert emulator.requests_seen - before == 1  # not repeated
    sent = [e for e in emulator.ledger if e.reference_type == "CoinWithdrawal"]
    assert len(sent) == 1  # it moved money exactly once


async def test_latency_is_injected() -> None:
    import anyio

    emulator = CryptopayEmulator(faults=Faults(latency=0.05))
    async with emulator.client(rate_limiter=None) as client:
        started = anyio.current_time()
        await client.rates.retrieve("BTC", "EUR")
        assert anyio.current_time() - started >= 0.05


async def test_a_delayed_answer_times_out_after_the_request_was_processed() -> None:
    emulator = CryptopayEmulator(faults=Faults(delay_rate=1.0, delay_seconds=5.0))
    async with emulator.client(rate_limiter=None, max_retries=0, timeout=0.05) as client:
        with pytest.raises(APITimeoutError):
            await client.invoices.create(
                price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id="SLOW"
            )
        before = emulator.requests_seen
        emulator.faults = Faults()
        assert (await client.invoices.retrieve_by_custom_id("SLOW")).custom_id == "SLOW"
    assert emulator.requests_seen == before + 1  # the POST went out once, and went through


async def test_a_delayed_answer_within_the_timeout_arrives() -> None:
    emulator = CryptopayEmulator(faults=Faults(delay_rate=1.0, delay_seconds=0.02))
    async with emulator.client(rate_limiter=None, timeout=5.0) as client:
        invoice = await client.invoices.create(
            price_amount="5", price_currency="EUR", pay_currency="BTC"
        )
    assert [i["id"] for i in emulator.api.objects["invoices"].values()] == [invoice.id]


HOSTILE_HEADER_VALUES = [b"\xff\xfe", b"HMAC \xff:\xfe", b"Mon, 01 Jan 2024 00:00:00 \xe9", b"\x80"]


@pytest.mark.parametrize("header", ["Date", "Authorization"])
@pytest.mark.parametrize("value", HOSTILE_HEADER_VALUES)
async def test_non_utf8_auth_headers_are_401_never_500(header: str, value: bytes) -> None:
    emulator = CryptopayEmulator()
    path = "/api/rates/BTC/EUR"
    headers = {k.encode(): v.encode() for k, v in signed_headers(emulator, path).items()}
    headers[header.encode()] = value
    if header == "Authorization":  # a valid key with a non-ASCII signature too
        headers[b"Authorization"] = b"HMAC " + emulator.api_key.encode() + b":" + value
    transport = httpx.ASGITransport(app=emulator.asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.get(path, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("target", "status"),
    [(b"/api/invoices/\xff", 400), (b"/api/invoices?starting_after=\xfe", 400)],
)
async def test_a_non_utf8_request_target_is_400(target: bytes, status: int) -> None:
    emulator = CryptopayEmulator()
    date = format_datetime(datetime.now(UTC), usegmt=True)
    signature = sign(emulator.api_secret, "GET", b"", date, target.decode("latin-1"))
    scope_headers = [
        (b"date", date.encode()),
        (b"content-type", b"application/json"),
        (b"authorization", f"HMAC {emulator.api_key}:{signature}".encode()),
    ]
    path, _, query = target.partition(b"?")
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "headers": scope_headers,
    }
    await emulator.asgi_app(scope, receive, send)
    assert sent[0]["status"] == status


async def test_a_deeply_nested_body_is_400() -> None:
    emulator = CryptopayEmulator()
    body = b"[" * 100_000
    date = format_datetime(datetime.now(UTC), usegmt=True)
    signature = sign(emulator.api_secret, "POST", body, date, "/api/invoices")
    headers = {
        "Date": date,
        "Content-Type": "application/json",
        "Authorization": f"HMAC {emulator.api_key}:{signature}",
    }
    transport = httpx.ASGITransport(app=emulator.asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.post("/api/invoices", content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"


async def test_an_operation_the_sdk_declares_but_the_emulator_does_not_serve_is_a_501_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Step 6 of "How to add an operation" (ARCHITECTURE.md): until its handler exists."""
    added: Operation[Rate] = Operation(
        "rates.history", "GET", "/api/rates/{base}/{quote}/history", Rate
    )
    monkeypatch.setattr("cryptopay_async.testing._app.OPERATIONS", (*OPERATIONS, added))
    emulator = CryptopayEmulator()
    path = "/api/rates/BTC/EUR/history"
    transport = httpx.ASGITransport(app=emulator.asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.get(path, headers=signed_headers(emulator, path))
    assert answer.status_code == 501
    assert answer.json()["error"] == {
        "code": "not_implemented",
        "message": "the emulator does not serve rates.history",
        "details": [],
    }
