"""``transport="auto"`` (the default): aiohttp's pool under asyncio, httpx's under trio."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async._aiohttp_transport import AiohttpTransport
from cryptopay_async._auto_transport import AutoTransport
from cryptopay_async._config import shared_ssl_context
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

pytestmark = pytest.mark.anyio

EXPECTED_POOL = {"asyncio": AiohttpTransport, "trio": httpx.AsyncHTTPTransport}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


async def test_the_default_client_runs_on_the_pool_for_its_event_loop(
    served: tuple[CryptopayEmulator, str], anyio_backend: str
) -> None:
    emulator, url = served
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        invoice = await client.invoices.create(
            price_amount="10",
            price_currency="EUR",
            pay_currency="BTC",
            custom_id=f"AUTO 1/ä {anyio_backend}",
        )
        assert (await client.invoices.retrieve(invoice.id)) == invoice
        auto = client._runtime.http._transport
        assert isinstance(auto, AutoTransport)
        assert [type(pool) for pool in auto._pools.values()] == [EXPECTED_POOL[anyio_backend]]


@pytest.mark.parametrize(
    ("proxy", "aiohttp"),
    [(None, True), ("http://127.0.0.1:3128", True), ("socks5://127.0.0.1:1080", False)],
)
def test_a_proxy_aiohttp_cannot_use_keeps_the_httpx_pool(proxy: str | None, aiohttp: bool) -> None:
    auto = AutoTransport(
        ssl_context=shared_ssl_context(),
        limits=httpx.Limits(max_connections=4),
        proxy=None if proxy is None else httpx.URL(proxy),
    )
    assert auto._aiohttp_usable is aiohttp
