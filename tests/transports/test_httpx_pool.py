"""httpx's pool as the SDK runs it: connections reused, one request per connection, and a
connection given back however the request ends (real server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anyio
import httpx
import pytest
from aiohttp import web

from cryptopay_async._transports._httpx_pool import HttpxPool
from cryptopay_async._transports._pool import shared_ssl_context
from tests.support import answer_cut_short, serve_aiohttp

PEERS: list[str] = []
"""The client address of each request the server saw: one per TCP connection."""


def seen(request: web.Request) -> None:
    assert request.transport is not None
    PEERS.append(str(request.transport.get_extra_info("peername")))


def make_app() -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        seen(request)
        return web.Response(text="ok")

    async def slow(request: web.Request) -> web.Response:
        seen(request)
        await asyncio.sleep(0.2)
        return web.Response(text="slow")

    async def broken(request: web.Request) -> web.StreamResponse:
        return await answer_cut_short(request, b"short", promised=100)

    app = web.Application()
    app.router.add_get("/ok", answer)
    app.router.add_get("/slow", slow)
    app.router.add_get("/broken", broken)
    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_aiohttp(make_app()) as base:
        yield base


def pool(size: int) -> HttpxPool:
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    return HttpxPool(ssl_context=shared_ssl_context(), limits=limits)


@pytest.mark.anyio
async def test_calls_one_after_another_reuse_one_connection(url: str) -> None:
    PEERS.clear()
    async with httpx.AsyncClient(transport=pool(8)) as client:
        for _ in range(5):
            assert (await client.get(f"{url}/ok")).text == "ok"
    assert len(set(PEERS)) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("size", "concurrent"), [(4, 4), (4, 10), (1, 3)])
async def test_concurrent_calls_spread_over_the_connections_and_all_finish(
    url: str, size: int, concurrent: int
) -> None:
    PEERS.clear()
    transport = pool(size)
    most_in_flight: list[int] = []

    async def one() -> None:
        response = await client.get(f"{url}/slow")
        most_in_flight.append(max(transport.in_flight))
        assert response.text == "slow"

    async with httpx.AsyncClient(transport=transport) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(concurrent):
                    tg.start_soon(one)
        assert transport.in_flight == [0] * size
    assert len(set(PEERS)) == min(size, concurrent)
    if concurrent <= size:  # each request had a connection of its own
        assert max(most_in_flight) == 1


@pytest.mark.anyio
async def test_a_failed_or_cancelled_call_gives_its_connection_back(url: str) -> None:
    transport = pool(2)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{url}/broken")
        with anyio.move_on_after(0.05):
            await client.get(f"{url}/slow")
        assert transport.in_flight == [0, 0]
        assert (await client.get(f"{url}/ok")).text == "ok"
    assert transport.in_flight == [0, 0]
