"""The emulator delivers signed callbacks and retries them on the documented schedule."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from cryptopay_async.callbacks import Callback, InvoiceCallback, verify
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.testing import CryptopayEmulator, Faults, retry_delay
from tests.support import serve_asgi

pytestmark = pytest.mark.anyio


def test_the_documented_retry_schedule() -> None:
    delays = [retry_delay(n) for n in range(20)]
    assert delays[:5] == [30, 32, 48, 114, 290]  # 30 s, 32 s, 48 s, 1 m 54 s, 4 m 50 s
    assert delays[19] == 30 + 19**4 + 19  # 1 d 12 h 12 m 50 s
    assert delays[19] == 36 * 3600 + 12 * 60 + 50


async def test_callbacks_are_signed_delivered_and_retried_until_acknowledged() -> None:
    received: list[tuple[bytes, str]] = []
    failures_left = [2]
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> PlainTextResponse:
        received.append((await request.body(), request.headers["x-cryptopay-signature"]))
        if failures_left[0]:
            failures_left[0] -= 1
            return PlainTextResponse("try later", status_code=503)
        return PlainTextResponse("ok")

    with serve_asgi(app) as url:
        emulator = CryptopayEmulator(callback_url=f"{url}/hook", callback_time_scale=0.001)
        async with emulator.client(rate_limiter=None) as client:
            invoice = await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
            with anyio.fail_after(10):
                await emulator.flush_webhooks()
    first = emulator.webhooks.deliveries[0]
    assert first.outcomes == ["503", "503", "200"]
    assert len(received) == 3
    for body, signature in received:
        event = verify(body, signature, secret=emulator.callback_secret)
        assert isinstance(event, InvoiceCallback)
        assert event.data.id == invoice.id


async def test_fastapi_integration_receives_every_event_of_a_payment_once() -> None:
    events: list[tuple[str, str]] = []

    async def on_callback(event: Callback) -> None:
        events.append((event.type, str(event.event)))

    emulator = CryptopayEmulator(callback_time_scale=0.001)
    app = FastAPI()
    app.include_router(callback_router(on_callback, secret=emulator.callback_secret))
    with serve_asgi(app) as url:
        emulator.callback_url = f"{url}/cryptopay/callbacks"
        async with emulator.client(rate_limiter=None) as client:
            invoice = await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
            emulator.pay_invoice(invoice.id)
            with anyio.fail_after(10):
                await emulator.flush_webhooks()
    assert events == [
        ("Invoice", "created"),
        ("Invoice", "transaction_created"),
        ("Invoice", "transaction_confirmed"),
        ("Invoice", "status_changed"),
    ]
    assert all(d.outcomes == ["200"] for d in emulator.webhooks.deliveries)


EVENTS = ("created", "transaction_created", "transaction_confirmed", "status_changed")
Arrivals = list[tuple[str, str]]


class KeepRepeats:
    """A store that remembers nothing: this endpoint counts deliveries, not events."""

    async def add(self, key: str) -> bool:
        return True

    async def discard(self, key: str) -> None:
        return None


async def paid_invoices_delivered(faults: Faults, invoices: int) -> tuple[Arrivals, Arrivals]:
    """(invoice id, event) of every callback received in arrival order, and of every event."""
    received: Arrivals = []

    async def on_callback(event: Callback) -> None:
        assert isinstance(event, InvoiceCallback)
        received.append((event.data.id, str(event.event)))

    app = FastAPI()
    emulator = CryptopayEmulator(callback_time_scale=0.001, faults=faults)
    receiver = callback_router(on_callback, secret=emulator.callback_secret, store=KeepRepeats())
    app.include_router(receiver)
    sent: Arrivals = []
    with serve_asgi(app) as url:
        emulator.callback_url = f"{url}/cryptopay/callbacks"
        async with emulator.client(rate_limiter=None) as client:
            for _ in range(invoices):
                invoice = await client.invoices.create(
                    price_amount="10", price_currency="EUR", pay_currency="BTC"
                )
                emulator.pay_invoice(invoice.id)
                sent += [(invoice.id, event) for event in EVENTS]
            with anyio.fail_after(20):
                await emulator.flush_webhooks()
    return received, sent


@pytest.mark.parametrize(
    ("faults", "check"),
    [
        (Faults(), lambda got, sent: got == sent),
        (Faults(callback_drop_rate=1.0), lambda got, sent: got == []),
        (Faults(callback_duplicate_rate=1.0), lambda got, sent: sorted(got) == sorted(sent * 2)),
        (
            Faults(callback_drop_rate=0.5, seed=7),
            lambda got, sent: 0 < len(got) < len(sent) and set(got) < set(sent),
        ),
        (
            Faults(callback_reorder_rate=0.5, seed=7),
            lambda got, sent: sorted(got) == sorted(sent) and got != sent,
        ),
    ],
    ids=["none", "all-dropped", "all-duplicated", "half-dropped", "reordered"],
)
async def test_callback_faults_lose_repeat_and_reorder_events(
    faults: Faults, check: Callable[[Arrivals, Arrivals], bool]
) -> None:
    received, sent = await paid_invoices_delivered(faults, invoices=5)
    assert check(received, sent), (received, sent)
