"""The emulator clock: expiry, commit windows and webhook retries, in milliseconds of test."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio
import anyio.to_thread
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from cryptopay_async import AsyncCryptopay, UnprocessableEntityError
from cryptopay_async.testing import CryptopayEmulator
from tests.support import serve_asgi

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emulated() -> AsyncIterator[tuple[CryptopayEmulator, AsyncCryptopay]]:
    emulator = CryptopayEmulator()
    async with emulator.client(rate_limiter=None) as client:
        yield emulator, client


@pytest.mark.parametrize(
    ("price_currency", "lifetime"), [("EUR", 600), ("USD", 600), ("BTC", 7200), ("USDT", 7200)]
)
async def test_an_unpaid_invoice_expires_after_its_documented_lifetime(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], price_currency: str, lifetime: int
) -> None:
    emulator, client = emulated
    pay_currency = "BTC" if price_currency != "BTC" else "ETH"
    invoice = await client.invoices.create(
        price_amount="1", price_currency=price_currency, pay_currency=pay_currency
    )
    assert (invoice.expires_at - invoice.created_at).total_seconds() == lifetime
    emulator.advance_clock(lifetime - 1)
    assert str((await client.invoices.retrieve(invoice.id)).status) == "new"
    emulator.advance_clock(1)
    expired = await client.invoices.retrieve(invoice.id)
    assert (str(expired.status), expired.status_context) == ("cancelled", None)


async def test_a_payment_after_expiry_is_paid_late_and_credits_nothing(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    invoice = await client.invoices.create(
        price_amount="10", price_currency="EUR", pay_currency="BTC"
    )
    emulator.advance_clock(600)
    paid = emulator.pay_invoice(invoice.id)
    assert (paid["status"], paid["status_context"]) == ("unresolved", "paid_late")
    assert emulator.ledger == []


async def test_a_paid_invoice_does_not_expire(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    invoice = await client.invoices.create(
        price_amount="10", price_currency="EUR", pay_currency="BTC"
    )
    emulator.pay_invoice(invoice.id)
    emulator.advance_clock(3600)
    assert str((await client.invoices.retrieve(invoice.id)).status) == "completed"


async def test_expiry_sends_a_status_changed_callback_without_any_request() -> None:
    received: list[bytes] = []
    second = threading.Event()  # the receiver runs in the server's thread
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> PlainTextResponse:
        received.append(await request.body())
        if len(received) == 2:
            second.set()
        return PlainTextResponse("ok")

    with serve_asgi(app) as url:
        emulator = CryptopayEmulator(callback_url=f"{url}/hook")
        async with emulator.client(rate_limiter=None) as client:
            invoice = await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
            emulator.clock.advance(600)  # the clock alone: the background task notices
            assert await anyio.to_thread.run_sync(second.wait, 10)
    assert received[1].startswith(b'{"type":"Invoice","event":"status_changed","data":{')
    assert invoice.id.encode() in received[1]
    assert b'"status":"cancelled"' in received[1]


Create = Callable[[AsyncCryptopay, CryptopayEmulator], Awaitable[Callable[[], Awaitable[Any]]]]


async def two_step_withdrawal(
    client: AsyncCryptopay, emulator: CryptopayEmulator
) -> Callable[[], Awaitable[Any]]:
    created = await client.coin_withdrawals.create(
        address="2Mz3",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="50",
        custom_id="LATE",
    )
    return lambda: client.coin_withdrawals.commit(created.id)


async def two_step_transfer(
    client: AsyncCryptopay, emulator: CryptopayEmulator
) -> Callable[[], Awaitable[Any]]:
    created = await client.exchange_transfers.create(
        charged_currency="EUR", received_currency="BTC", charged_amount="50", custom_id="LATE"
    )
    return lambda: client.exchange_transfers.commit(created.id)


async def two_step_recalculation(
    client: AsyncCryptopay, emulator: CryptopayEmulator
) -> Callable[[], Awaitable[Any]]:
    invoice = await client.invoices.create(
        price_amount="50", price_currency="EUR", pay_currency="BTC", custom_id="LATE"
    )
    emulator.pay_invoice(invoice.id, Decimal(invoice.pay_amount) / 2)
    recalculation = await client.invoices.create_recalculation(invoice.id)
    return lambda: client.invoices.commit_recalculation(invoice.id, recalculation.id)


TWO_STEP = [two_step_withdrawal, two_step_transfer, two_step_recalculation]


@pytest.mark.parametrize("create", TWO_STEP)
async def test_a_commit_after_30_seconds_is_refused_and_nothing_moves(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], create: Create
) -> None:
    emulator, client = emulated
    commit = await create(client, emulator)
    balances = {a.currency: a.balance for a in await client.accounts.list()}
    emulator.advance_clock(30.5)
    with pytest.raises(UnprocessableEntityError) as caught:
        await commit()
    assert [d.code for d in caught.value.details] == ["expired"]
    assert emulator.ledger == []
    assert {a.currency: a.balance for a in await client.accounts.list()} == balances


@pytest.mark.parametrize("create", TWO_STEP)
async def test_a_commit_within_30_seconds_moves_money_once(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], create: Create
) -> None:
    emulator, client = emulated
    commit = await create(client, emulator)
    emulator.advance_clock(29)
    await commit()
    assert emulator.ledger
    assert {entry.reference_id for entry in emulator.ledger} == {emulator.ledger[0].reference_id}


async def test_webhook_retries_follow_the_emulator_clock() -> None:
    answers = ["503", "200"]
    seen: list[str] = []
    first = threading.Event()
    app = FastAPI()

    @app.post("/hook")
    async def hook() -> PlainTextResponse:
        status = answers.pop(0)
        seen.append(status)
        first.set()
        return PlainTextResponse(status, status_code=int(status))

    with serve_asgi(app) as url:
        emulator = CryptopayEmulator(callback_url=f"{url}/hook")  # real schedule: 30 s
        async with emulator.client(rate_limiter=None) as client:
            await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
            assert await anyio.to_thread.run_sync(first.wait, 10)
            await anyio.sleep(0.2)
            assert seen == ["503"]  # the first retry is 30 s away on the emulator clock
            emulator.advance_clock(30)
            with anyio.fail_after(10):
                await emulator.flush_webhooks()
    assert seen == ["503", "200"]
    assert emulator.webhooks.deliveries[0].outcomes == ["503", "200"]
