"""The real SDK against the emulator served by uvicorn on 127.0.0.1, callbacks included."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import attrs
import httpx
import pytest
from fastapi import FastAPI

from cryptopay_async import (
    APITimeoutError,
    AsyncCryptopay,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from cryptopay_async.callbacks import Callback, InvoiceCallback
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.models import (
    ChannelPaymentStatus,
    CoinWithdrawalStatus,
    InvoiceStatus,
    SubscriptionStatus,
)
from cryptopay_async.ratelimit import DEFAULT_MARGIN, DEFAULT_RATE, TokenBucket
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.support import serve_asgi

pytestmark = pytest.mark.anyio


@attrs.define
class World:
    emulator: CryptopayEmulator
    url: str
    received: list[Callback]

    def client(self, **options: object) -> AsyncCryptopay:
        settings: dict[str, object] = {
            "api_key": self.emulator.api_key,
            "api_secret": self.emulator.api_secret,
            "callback_secret": self.emulator.callback_secret,
            "base_url": self.url,
            "rate_limiter": None,
            **options,
        }
        return AsyncCryptopay(**settings)  # type: ignore[arg-type]

    async def callbacks_settle(self) -> list[tuple[str, str]]:
        with anyio.fail_after(10):
            await self.emulator.flush_webhooks()
        return [(event.type, str(event.event)) for event in self.received]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The emulator on uvicorn, posting its callbacks to a FastAPI app on uvicorn."""
    # Functional tests share this emulator; its limit is tested on its own below.
    emulator = CryptopayEmulator(rate_limit=100_000, callback_time_scale=0.001)
    received: list[Callback] = []

    async def on_callback(event: Callback) -> None:
        received.append(event)

    receiver = FastAPI()
    receiver.include_router(callback_router(on_callback, secret=emulator.callback_secret))
    with serve_asgi(receiver) as receiver_url, serve_in_thread(emulator.asgi_app) as url:
        emulator.callback_url = f"{receiver_url}/cryptopay/callbacks"
        yield World(emulator, url, received)


@pytest.fixture
async def client(world: World) -> AsyncIterator[AsyncCryptopay]:
    world.received.clear()
    async with world.client() as client:
        yield client


async def test_invoices_create_read_list_pay_recalculate_refund(
    world: World, client: AsyncCryptopay
) -> None:
    tag = f"INV-{time.monotonic_ns()}"
    created = [
        await client.invoices.create(
            price_amount=Decimal("25.00"),
            price_currency="EUR",
            pay_currency="BTC",
            custom_id=f"{tag}-{index}",
            customer_id=tag,
        )
        for index in range(60)
    ]
    first = created[0]
    assert (await client.invoices.retrieve(first.id)) == first
    assert (await client.invoices.retrieve_by_custom_id(f"{tag}-0")).id == first.id
    listed = [invoice.id async for invoice in client.invoices.list(customer_id=tag)]
    assert listed == [invoice.id for invoice in reversed(created)]  # two pages, newest first

    world.emulator.pay_invoice(first.id)
    world.emulator.pay_invoice(created[1].id, Decimal(created[1].pay_amount) / 2)
    world.emulator.pay_invoice(created[2].id, Decimal(created[2].pay_amount) * 2)
    assert (await client.invoices.retrieve(first.id)).status is InvoiceStatus.COMPLETED

    recalculation = await client.invoices.create_recalculation(created[1].id)
    await client.invoices.commit_recalculation(created[1].id, recalculation.id)
    assert (await client.invoices.retrieve(created[1].id)).status is InvoiceStatus.COMPLETED

    refund = await client.invoices.create_refund(created[2].id, address="2Mz3bc")
    assert [r.id for r in await client.invoices.list_refunds(created[2].id)] == [refund.id]

    events = await world.callbacks_settle()
    assert events.count(("Invoice", "created")) == 60
    assert ("Invoice", "transaction_confirmed") in events
    assert ("Invoice", "recalculated") in events
    assert ("Invoice", "refunded") in events
    statuses = [
        event.data.status
        for event in world.received
        if isinstance(event, InvoiceCallback)
        and event.event == "status_changed"
        and event.data.id == first.id
    ]
    assert statuses == [InvoiceStatus.COMPLETED]


async def test_channels_create_update_pay_and_read_payments(
    world: World, client: AsyncCryptopay
) -> None:
    custom_id = f"CH-{time.monotonic_ns()}"
    channel = await client.channels.create(
        name="Deposits", pay_currency="BTC", receiver_currency="EUR", custom_id=custom_id
    )
    assert (await client.channels.retrieve_by_custom_id(custom_id)).id == channel.id
    renamed = await client.channels.update(channel.id, name="Renamed")
    assert renamed.name == "Renamed"
    payment = world.emulator.pay_channel(channel.id, "0.002")
    page = await client.channels.list_payments(channel.id)
    assert [p.id for p in page.data] == [payment["id"]]
    fetched = await client.channels.retrieve_payment(channel.id, payment["id"])
    assert fetched.status is ChannelPaymentStatus.COMPLETED
    assert channel.id in [c.id async for c in client.channels.list()]
    events = await world.callbacks_settle()
    assert events == [("ChannelPayment", "created"), ("ChannelPayment", "completed")]


async def test_withdrawals_two_step_commit_complete_and_fees(
    world: World, client: AsyncCryptopay
) -> None:
    custom_id = f"PAYOUT-{time.monotonic_ns()}"
    withdrawal = await client.coin_withdrawals.create(
        address="2Mz3bcjSVHG8uQJpNjmCxp24VdTjwaqmFcJ",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount=Decimal("100.00"),
        custom_id=custom_id,
    )
    assert withdrawal.status is CoinWithdrawalStatus.NEW
    committed = await client.coin_withdrawals.commit(withdrawal.id)
    assert committed.status is CoinWithdrawalStatus.PENDING
    world.emulator.complete_withdrawal(withdrawal.id)
    done = await client.coin_withdrawals.retrieve_by_custom_id(custom_id)
    assert done.status is CoinWithdrawalStatus.COMPLETED
    assert withdrawal.id in [w.id async for w in client.coin_withdrawals.list()]
    assert await client.coin_withdrawals.list_network_fees(all_networks=True)
    assert [e.amount for e in world.emulator.ledger_for(custom_id)] == [Decimal("-100.00")]
    events = await world.callbacks_settle()
    assert events == [
        ("CoinWithdrawal", "created"),
        ("CoinWithdrawal", "status_changed"),
        ("CoinWithdrawal", "status_changed"),
    ]


async def test_customers_transfers_subscriptions_and_the_ledger(
    world: World, client: AsyncCryptopay
) -> None:
    customer_id = f"CUSTOMER {time.monotonic_ns()}/é"  # reserved characters in a merchant id
    await client.customers.create(id=customer_id, currency="EUR")
    updated = await client.customers.update(
        customer_id,
        addresses=[
            {
                "address": "2N9wPGx67zdSeAbXi15qHgoZ9Hb9Uxhd2uQ",
                "currency": "BTC",
                "network": "bitcoin",
            }
        ],
    )
    assert updated.addresses is not None
    assert [a.currency for a in updated.addresses] == ["BTC"]
    assert (await client.customers.retrieve(customer_id)).currency == "EUR"
    assert customer_id in [c.id async for c in client.customers.list()]

    transfer = await client.exchange_transfers.create(
        charged_currency="EUR", received_currency="BTC", charged_amount="50.0"
    )
    await client.exchange_transfers.commit(transfer.id)
    assert (await client.exchange_transfers.retrieve(transfer.id)).id == transfer.id

    custom_id = f"SUB-{time.monotonic_ns()}"
    subscription = await client.subscriptions.create(
        name="Monthly",
        amount="9.99",
        currency="EUR",
        period="month",
        period_quantity=1,
        payer_email="payer@example.com",
        starts_at=datetime.now(UTC) + timedelta(days=4),
        custom_id=custom_id,
    )
    assert (await client.subscriptions.retrieve_by_custom_id(custom_id)).id == subscription.id
    cancelled = await client.subscriptions.cancel(subscription.id)
    assert cancelled.status is SubscriptionStatus.CANCELLED
    assert subscription.id in [s.id async for s in client.subscriptions.list()]

    eur = next(a for a in await client.accounts.list() if a.currency == "EUR")
    ledger = [t async for t in client.accounts.list_transactions(eur.id)]
    assert any(t.reference_id == transfer.id for t in ledger)
    rows = [t async for t in client.transactions.list(reference_type="ExchangeTransfer")]
    assert {t.reference_id for t in rows} >= {transfer.id}
    assert (await client.rates.retrieve("BTC", "EUR")).buy_rate > 0
    assert await client.coins.list()
    assert ("Subscription", "cancelled") in await world.callbacks_settle()


async def test_error_paths_over_http(world: World, client: AsyncCryptopay) -> None:
    with pytest.raises(NotFoundError):
        await client.invoices.retrieve("00000000-0000-4000-8000-000000000000")
    custom_id = f"DUP-{time.monotonic_ns()}"
    await client.invoices.create(
        price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id=custom_id
    )
    with pytest.raises(ConflictError):
        await client.invoices.create(
            price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id=custom_id
        )
    with pytest.raises(UnprocessableEntityError) as invalid:
        await client.invoices.create(price_amount="5", price_currency="EUR", pay_currency="NOPE")
    assert invalid.value.details[0].target == "pay_currency"
    async with world.client(api_secret="not-the-secret") as impostor:
        with pytest.raises(AuthenticationError):
            await impostor.rates.all()


async def test_429_when_a_key_goes_over_its_window() -> None:
    emulator = CryptopayEmulator(rate_limit=10, rate_period=30.0)
    with serve_in_thread(emulator.asgi_app) as url:
        async with AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=url,
            rate_limiter=None,
            max_retries=0,
        ) as client:
            for _ in range(10):
                await client.rates.retrieve("BTC", "EUR")
            with pytest.raises(RateLimitError) as caught:
                await client.rates.retrieve("BTC", "EUR")
    assert caught.value.status_code == 429
    assert emulator.rate_limited == 1


async def test_300_concurrent_calls_through_the_limiter_earn_no_429() -> None:
    """The default limiter with a scaled period against the same window: never a 429."""
    period = 4.0
    emulator = CryptopayEmulator(rate_limit=200, rate_period=period)
    with serve_in_thread(emulator.asgi_app) as url:
        limiter = TokenBucket(rate=DEFAULT_RATE, period=period, margin=DEFAULT_MARGIN)
        async with AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=url,
            rate_limiter=limiter,
            max_retries=0,
        ) as client:
            started = time.perf_counter()
            results: list[str] = []

            async def create(index: int) -> None:
                invoice = await client.invoices.create(
                    price_amount="10",
                    price_currency="EUR",
                    pay_currency="BTC",
                    custom_id=f"BATCH-{index}",
                )
                results.append(invoice.id)

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for index in range(300):
                        tg.start_soon(create, index)
            elapsed = time.perf_counter() - started
    assert len(results) == 300
    assert emulator.rate_limited == 0
    assert elapsed >= period  # the second hundred had to wait for the window
    assert elapsed < period * 2.5


async def test_a_non_utf8_date_over_tcp_is_401(world: World) -> None:
    headers = {b"Date": b"\xff\xfe", b"Authorization": f"HMAC {world.emulator.api_key}:x".encode()}
    async with httpx.AsyncClient(base_url=world.url) as http:
        answer = await http.get("/api/rates/BTC/EUR", headers=headers)
    assert answer.status_code == 401


async def test_a_delayed_answer_over_tcp_times_out_after_processing(world: World) -> None:
    tag = f"SLOW-{time.monotonic_ns()}"
    world.emulator.faults = Faults(delay_rate=1.0, delay_seconds=1.0)
    try:
        async with world.client(timeout=0.2, max_retries=0) as slow:
            with pytest.raises(APITimeoutError):
                await slow.invoices.create(
                    price_amount="5", price_currency="EUR", pay_currency="BTC", custom_id=tag
                )
    finally:
        world.emulator.faults = Faults()
    async with world.client() as client:
        assert (await client.invoices.retrieve_by_custom_id(tag)).custom_id == tag
