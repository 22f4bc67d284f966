"""``transport="auto"`` (the default): aiohttp's pool under asyncio, httpx's under trio."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import anyio
import httpx
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async._transports._aiohttp import AiohttpTransport
from cryptopay_async._transports._auto import AutoTransport
from cryptopay_async._transports._httpx_pool import HttpxPool
from cryptopay_async._transports._pool import shared_ssl_context
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from tests.misbehaving_server import Fault, MisbehavingServer
from tests.support import API_KEY, API_SECRET

pytestmark = pytest.mark.anyio

EXPECTED_POOL = {"asyncio": AiohttpTransport, "trio": HttpxPool}


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


async def test_entering_the_client_builds_its_pool_before_any_rate_limit_grant(
    anyio_backend: str,
) -> None:
    """The pool's one-time work (under asyncio: importing aiohttp) happens on ``async with``.

    Done on the first request instead, it ran after the limiter's grant and that request
    reached the server up to half a second late on a busy machine, squeezing 61 arrivals
    into one window (tests/ratelimit/test_redis_fleet.py).
    """
    async with AsyncCryptopay(
        api_key=API_KEY, api_secret=API_SECRET, base_url="http://127.0.0.1:9", rate_limiter=None
    ) as client:
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


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("proxy_env", [False, True], ids=["direct", "HTTP_PROXY"])
def test_a_client_built_outside_any_loop_picks_its_pool_and_closes_it(
    backend: str, proxy_env: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built with no loop running (``anyio_backend`` fixtures would build it inside one),
    then run under ``backend``: derived clients share the pool, a plain-http proxy from the
    environment carries the requests over either pool, and ``aclose()`` closes aiohttp's
    session (an unclosed one warns on collection, an error under this suite's filters)."""
    with MisbehavingServer(Fault.ANSWER) as server:
        base_url = server.url
        if proxy_env:
            monkeypatch.setenv("HTTP_PROXY", server.url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            base_url = "http://api.cryptopay.invalid"  # reachable only through the proxy
        client = AsyncCryptopay(
            api_key=API_KEY, api_secret=API_SECRET, base_url=base_url, rate_limiter=None
        )
        auto = client._runtime.http._transport
        assert isinstance(auto, AutoTransport)

        async def use() -> None:
            async with client:
                assert await client.request("GET", "/api/rates") == {"data": {"ok": True}}
                async with client.with_options(timeout=5, max_retries=0) as derived:
                    await derived.request("POST", "/api/invoices", json={"price_amount": "1"})
                assert [type(pool) for pool in auto._pools.values()] == [EXPECTED_POOL[backend]]
            assert auto._pools == {}

        anyio.run(use, backend=backend)
        gc.collect()
    prefix = base_url if proxy_env else ""
    assert server.arrivals == [("GET", f"{prefix}/api/rates"), ("POST", f"{prefix}/api/invoices")]


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_callers_http_client_is_used_as_given_and_left_open() -> None:
    with MisbehavingServer(Fault.ANSWER) as server:
        async with httpx.AsyncClient() as http:
            async with AsyncCryptopay(
                api_key=API_KEY,
                api_secret=API_SECRET,
                base_url=server.url,
                rate_limiter=None,
                http_client=http,
            ) as client:
                assert client._runtime.http is http
                await client.request("POST", "/api/invoices", json={"price_amount": "1"})
                async with client.with_options(max_retries=0) as derived:
                    await derived.request("GET", "/api/rates")
            assert not http.is_closed
            assert (await http.get(f"{server.url}/api/rates")).status_code == 200
    assert server.count("POST") == 1
    assert server.count("GET") == 2
