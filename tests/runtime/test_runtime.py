"""A client belongs to the event loop that first used it: from another run, a call is
refused before anything is sent (real OS threads and event loops, a real server)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

Runner = Callable[[Callable[[], Any]], Any]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


def asyncio_run(call: Callable[[], Any]) -> Any:
    return asyncio.run(call())


def trio_run(call: Callable[[], Any]) -> Any:
    return anyio.run(call, backend="trio")


def in_thread(call: Callable[[], Any]) -> Any:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(asyncio.run(call()))
        except BaseException as exc:  # handed back to the test's thread
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


@pytest.mark.parametrize("transport", ["httpx", "auto"])
@pytest.mark.parametrize(
    ("first", "then"),
    [
        (asyncio_run, asyncio_run),
        (asyncio_run, trio_run),
        (trio_run, trio_run),
        (asyncio_run, in_thread),
    ],
    ids=["asyncio twice", "asyncio then trio", "trio twice", "another thread"],
)
def test_a_call_from_another_event_loop_is_refused_before_it_is_sent(
    served: tuple[CryptopayEmulator, str], transport: str, first: Runner, then: Runner
) -> None:
    emulator, url = served
    client = AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        base_url=url,
        rate_limiter=None,
        transport=transport,  # type: ignore[arg-type]
    )

    async def create() -> Any:
        return await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )

    async def create_then_close() -> Any:
        # Closed in its own loop, so that loop's sockets do not outlive it; the refusal
        # below comes first, before the closed client's own.
        try:
            return await create()
        finally:
            await client.aclose()

    seen = emulator.requests_seen
    assert first(create_then_close).id
    assert emulator.requests_seen == seen + 1
    with pytest.raises(RuntimeError, match=r"one client per event loop\. Nothing was sent"):
        then(create)
    assert emulator.requests_seen == seen + 1  # the refused POST never left


@pytest.mark.anyio
async def test_clients_derived_with_options_share_the_first_event_loop(
    served: tuple[CryptopayEmulator, str],
) -> None:
    emulator, url = served
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        await client.coins.list()
        assert await client.with_options(max_retries=0).coins.list()
