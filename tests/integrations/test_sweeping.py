"""The FastAPI router and the aiohttp route run a sweeper for the app's life, and stop it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager

import anyio
import anyio.to_thread
import pytest
from aiohttp import web
from fastapi import FastAPI

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import Callback, CallbackSweeper, Deduplicator
from cryptopay_async.integrations.aiohttp import SWEEPER, add_callback_route
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from tests.support import serve_aiohttp, serve_asgi

pytestmark = pytest.mark.anyio

Served = Callable[[CryptopayEmulator, str, list[Callback]], AbstractContextManager[str]]


def client_for(emulator: CryptopayEmulator, url: str) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        callback_secret=emulator.callback_secret,
        base_url=url,
        rate_limiter=TokenBucket(6_000, 60.0),
    )


def fastapi_shop(
    emulator: CryptopayEmulator, url: str, handled: list[Callback]
) -> AbstractContextManager[str]:
    async def on_event(event: Callback) -> None:
        handled.append(event)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with client_for(emulator, url) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan)
    dedupe = Deduplicator()
    app.include_router(
        callback_router(
            on_event,
            secret=emulator.callback_secret,
            deduplicator=dedupe,
            sweeper=lambda: CallbackSweeper(app.state.client, on_event, deduplicator=dedupe),
            every=0.05,
        )
    )
    return serve_asgi(app, lifespan="on")


def aiohttp_shop(
    emulator: CryptopayEmulator, url: str, handled: list[Callback]
) -> AbstractContextManager[str]:
    client_key = web.AppKey("client", AsyncCryptopay)

    async def on_event(event: Callback) -> None:
        handled.append(event)

    async def client(app: web.Application) -> AsyncIterator[None]:
        async with client_for(emulator, url) as opened:
            app[client_key] = opened
            yield

    app = web.Application()
    app.cleanup_ctx.append(client)
    dedupe = Deduplicator()
    add_callback_route(
        app,
        on_event,
        secret=emulator.callback_secret,
        deduplicator=dedupe,
        sweeper=lambda: CallbackSweeper(app[client_key], on_event, deduplicator=dedupe),
        every=0.05,
    )
    return serve_aiohttp(app)


@pytest.fixture
def emulator() -> Iterator[tuple[CryptopayEmulator, str]]:
    served = CryptopayEmulator(rate_limit=100_000)  # no callback URL: every callback lost
    with serve_in_thread(served.asgi_app) as url:
        yield served, url


def completed(handled: list[Callback]) -> None:
    """Wait (in a thread: the app runs in its server's) until the paid state was handed."""
    while not any(str(getattr(e.data, "status", "")) == "completed" for e in handled):
        time.sleep(0.02)


@pytest.mark.parametrize("shop", [fastapi_shop, aiohttp_shop], ids=["fastapi", "aiohttp"])
async def test_the_app_sweeps_in_the_background_and_stops_on_shutdown(
    emulator: tuple[CryptopayEmulator, str], shop: Served
) -> None:
    served, url = emulator
    handled: list[Callback] = []
    async with client_for(served, url) as client:
        invoice = await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )
        with shop(served, url, handled):
            served.pay_invoice(invoice.id)
            with anyio.fail_after(20):
                await anyio.to_thread.run_sync(completed, handled)
        requests = served.requests_seen  # the app has shut down
        await anyio.sleep(0.3)  # six sweep intervals: a sweeper left running would read
        assert served.requests_seen == requests
    assert [str(getattr(e.data, "status", "")) for e in handled][-1] == "completed"


async def test_the_receiver_and_the_sweeper_must_share_one_deduplicator() -> None:
    async def on_event(event: Callback) -> None:
        return None

    async with AsyncCryptopay(api_key="k", api_secret="s") as client:
        sweeper = CallbackSweeper(client, on_event)
        router = callback_router(on_event, secret="s", sweeper=sweeper)  # takes the sweeper's
        assert router.routes
        with pytest.raises(ValueError, match="share one Deduplicator"):
            callback_router(on_event, secret="s", deduplicator=Deduplicator(), sweeper=sweeper)
        with pytest.raises(ValueError, match="share one Deduplicator"):
            add_callback_route(
                web.Application(), on_event, deduplicator=Deduplicator(), sweeper=sweeper
            )
        with pytest.raises(ValueError, match="every must be a positive number"):
            callback_router(on_event, sweeper=sweeper, every=0)
    assert "cryptopay" in repr(SWEEPER)


def test_an_aiohttp_app_with_the_callback_route_refuses_to_start_without_a_secret() -> None:
    """Like ``callback_handler(..., app=app)``: named at start-up, not a 500 per callback."""

    async def on_event(event: Callback) -> None:
        raise AssertionError("never called")

    async def start() -> None:
        app = web.Application()
        add_callback_route(app, on_event)
        runner = web.AppRunner(app)
        try:
            await runner.setup()
        finally:
            await runner.cleanup()

    with pytest.raises(ValueError, match="CRYPTOPAY_CALLBACK_SECRET"):
        asyncio.run(start())
