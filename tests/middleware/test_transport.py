"""The transport step sends to the SDK's own pool directly: what ``AsyncClient.send`` did
that callers rely on still holds, on every transport, against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web

from cryptopay_async import APIConnectionError, AsyncCryptopay
from tests.support import answer_cut_short, fixture_bytes, serve_aiohttp

INVOICE = fixture_bytes("responses-2023/invoices/retrieve.json")
SEEN: list[dict[str, str]] = []


def make_app() -> web.Application:
    async def invoice(request: web.Request) -> web.StreamResponse:
        SEEN.append(dict(request.headers))
        if request.match_info["invoice_id"] == "cut":  # a body cut short: 10 of 1,000 bytes
            return await answer_cut_short(request, b'{"data": {', promised=1000)
        return web.Response(
            body=INVOICE,
            content_type="application/json",
            headers={"Set-Cookie": "__cf_bm=tracker; Path=/", "cf-ray": "abc-AMS"},
        )

    app = web.Application()
    app.router.add_get("/api/invoices/{invoice_id}", invoice)
    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_aiohttp(make_app()) as base:
        yield base


# Every transport under every event loop it runs on (aiohttp's runs under asyncio only).
TRANSPORTS = pytest.mark.parametrize(
    ("transport", "anyio_backend"),
    [
        ("httpx", "asyncio"),
        ("httpx", "trio"),
        ("auto", "asyncio"),
        ("auto", "trio"),
        ("aiohttp", "asyncio"),
    ],
)


def client(url: str, transport: str, **options: Any) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key="k",
        api_secret="s",
        base_url=url,
        rate_limiter=None,
        transport=transport,  # type: ignore[arg-type]
        **options,
    )


@pytest.mark.anyio
@TRANSPORTS
async def test_cookies_set_by_the_server_are_never_sent_back(url: str, transport: str) -> None:
    SEEN.clear()
    async with client(url, transport) as sdk:
        for _ in range(3):
            await sdk.invoices.retrieve("a")
    assert len(SEEN) == 3
    assert [h.get("Cookie") for h in SEEN] == [None, None, None]


@pytest.mark.anyio
@TRANSPORTS
async def test_a_raw_response_knows_its_request_and_elapsed_time(url: str, transport: str) -> None:
    async with client(url, transport) as sdk:
        raw = await sdk.with_raw_response.invoices.retrieve("a")
    assert raw.http_response.request.url.path == "/api/invoices/a"
    assert timedelta(0) < raw.elapsed < timedelta(seconds=30)
    assert raw.headers["cf-ray"] == "abc-AMS"
    assert raw.parse().id == json.loads(INVOICE)["data"]["id"]


@pytest.mark.anyio
@TRANSPORTS
async def test_a_body_cut_short_is_a_connection_error_that_knows_its_request(
    url: str, transport: str
) -> None:
    async with client(url, transport, max_retries=0) as sdk:
        with pytest.raises(APIConnectionError) as caught:
            await sdk.invoices.retrieve("cut")
        cause = caught.value.__cause__
        assert isinstance(cause, httpx.TransportError)
        assert cause.request.url.path == "/api/invoices/cut"
        # The pool is still usable: the broken connection was closed, not reused.
        assert (await sdk.invoices.retrieve("a")).id


@pytest.mark.anyio
@TRANSPORTS
async def test_a_closed_client_refuses_to_send_and_opens_no_connection(
    url: str, transport: str
) -> None:
    SEEN.clear()
    sdk = client(url, transport)
    await sdk.invoices.retrieve("a")
    await sdk.aclose()
    with pytest.raises(RuntimeError, match="client has been closed"):
        await sdk.invoices.retrieve("a")
    assert len(SEEN) == 1
