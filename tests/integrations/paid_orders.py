"""A shop app against the served emulator: orders paid every way, every callback delivered often.

The emulator runs on 127.0.0.1 with its webhook sender; its callbacks reach the shop
through a relay that loses the shop's first answer to each delivery (so the emulator
retries it: a duplicate, arriving after later events). Orders are paid exactly, partly
then completed by a recalculation, and over then completed; then every callback body
is delivered once more, newest first. The shop must credit each order exactly once.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import SIGNATURE_HEADER, signature_for
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

ORDERS = {"1": "exact", "2": "partial, then recalculated", "3": "over, then recalculated"}


class LosingRelay:
    """Forwards each callback to the shop; the first answer to each body is lost (500)."""

    def __init__(self) -> None:
        self.target = ""
        self.seen: Counter[bytes] = Counter()
        self.app = Starlette(routes=[Route("/", self.forward, methods=["POST"])])

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            answer = await http.post(
                self.target,
                content=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            )
        self.seen[body] += 1
        return Response(status_code=500 if self.seen[body] == 1 else answer.status_code)


@contextlib.contextmanager
def served_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CryptopayEmulator, str]]:
    """The emulator on loopback, and the environment a shop reads its settings from."""
    emulator = CryptopayEmulator(callback_time_scale=0.0005)
    with serve_in_thread(emulator.asgi_app) as url:
        monkeypatch.setenv("CRYPTOPAY_API_KEY", emulator.api_key)
        monkeypatch.setenv("CRYPTOPAY_API_SECRET", emulator.api_secret)
        monkeypatch.setenv("CRYPTOPAY_CALLBACK_SECRET", emulator.callback_secret)
        monkeypatch.setenv("CRYPTOPAY_BASE_URL", url)
        yield emulator, url


async def pay_every_way(emulator: CryptopayEmulator, emulator_url: str, shop_url: str) -> None:
    """Order, order again, pay, resolve; then wait for every callback and deliver them again."""
    relay = LosingRelay()
    relay.target = f"{shop_url}/cryptopay/callbacks"
    async with (
        httpx.AsyncClient(base_url=shop_url, timeout=10) as shop,
        AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=emulator_url,
            rate_limiter=None,
        ) as merchant,
    ):
        with serve_in_thread(relay.app, lifespan="off") as relay_url:
            emulator.callback_url = f"{relay_url}/"
            invoice_ids = {}
            for order in ORDERS:
                first = await shop.post(f"/orders/{order}/invoice")
                again = await shop.post(f"/orders/{order}/invoice")  # a double click
                assert first.status_code == again.status_code == 200, again.text
                assert first.json()["invoice_id"] == again.json()["invoice_id"]
                invoice_ids[order] = first.json()["invoice_id"]
            for order, how in ORDERS.items():
                invoice = await merchant.invoices.retrieve(invoice_ids[order])
                due = Decimal(invoice.pay_amount)
                paid = {"1": None, "2": due / 2, "3": due * Decimal("1.5")}[order]
                emulator.pay_invoice(invoice.id, paid)
                if how != "exact":
                    await merchant.invoices.create_recalculation(invoice.id, force_commit=True)
            with anyio.fail_after(30):
                await emulator.flush_webhooks()  # polls the sender's list across threads
        deliveries = list(emulator.webhooks.deliveries)
        assert all(d.retries >= 1 for d in deliveries)  # each one was delivered twice
        assert {d.event.event for d in deliveries} >= {"status_changed", "recalculated"}
        for delivery in reversed(deliveries):  # once more, newest first
            signature = signature_for(delivery.body, emulator.callback_secret)
            answer = await shop.post(
                "/cryptopay/callbacks",
                content=delivery.body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            )
            assert answer.status_code == 200
