"""The whole chain against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import anyio
import pytest

from cryptopay_async import AsyncCryptopay, NotFoundError
from cryptopay_async.models import Invoice, InvoiceStatus
from tests.fake_server import FakeCryptopay
from tests.support import API_KEY, API_SECRET, serve_asgi

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeCryptopay]]:
    app = FakeCryptopay(latency=0.002)
    with serve_asgi(app) as url:
        yield url, app


def client_for(url: str) -> AsyncCryptopay:
    return AsyncCryptopay(api_key=API_KEY, api_secret=API_SECRET, base_url=url, rate_limiter=None)


async def test_create_retrieve_and_list_over_http(server: tuple[str, FakeCryptopay]) -> None:
    url, app = server
    async with client_for(url) as client:
        created = await client.invoices.create(
            price_amount=Decimal("100.0"),
            price_currency="EUR",
            pay_currency="BTC",
            custom_id="ORDER-42",
        )
        fetched = await client.invoices.retrieve(created.id)
        page = await client.invoices.list(customer_id="CUSTOMER 1")
        with pytest.raises(NotFoundError) as caught:
            await client.invoices.retrieve("missing")
    assert isinstance(created, Invoice)
    assert created.price_amount == Decimal("100.0")
    assert fetched.id == created.id
    assert fetched.status is InvoiceStatus.COMPLETED
    assert page.data
    assert all(isinstance(i, Invoice) for i in page.data)
    assert page.total is not None
    assert page.total >= len(page.data)
    assert caught.value.request_id == "1bd79df91f60d973bbc4583d4be241d5"
    recent = app.requests[-4:]
    assert all(valid for _, _, valid in recent)
    assert recent[2][1] == "/api/invoices?customer_id=CUSTOMER%201"


async def test_500_concurrent_calls_neither_time_out_nor_crawl(
    server: tuple[str, FakeCryptopay],
) -> None:
    url, app = server
    before = len(app.requests)
    app.most_in_flight = 0
    async with client_for(url) as client:
        results: list[Invoice] = []

        async def call(index: int) -> None:
            results.append(await client.invoices.retrieve(f"inv-{index}"))

        started = time.perf_counter()
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for index in range(500):
                    tg.start_soon(call, index)
        elapsed = time.perf_counter() - started
    assert sorted(r.id for r in results) == sorted(f"inv-{i}" for i in range(500))
    assert len(app.requests) - before == 500  # no retries were needed
    assert app.most_in_flight <= 16  # the concurrency cap held
    # Generous bound: the collapse measured in the performance notes took minutes.
    assert elapsed < 20, f"500 calls took {elapsed:.1f}s"
