"""Network faults over real TCP, for both transports: a POST that may have been processed
arrives once and the caller is told so; a GET is retried; nothing sent means retried.

The server counts full requests it read (arrivals); the client's DEBUG log counts the
attempts it made. These are the figures of the fault table in docs/guides/errors.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import anyio
import httpx
import pytest

from cryptopay_async import AsyncCryptopay, RetryPolicy
from cryptopay_async._errors._exceptions import APIConnectionError, APITimeoutError
from tests.misbehaving_server import (
    Fault,
    IdleClose,
    MisbehavingServer,
    closed_port,
    unanswered_port,
)
from tests.support import API_KEY, API_SECRET

# aiohttp runs on asyncio only; httpx runs under both backends; "auto" picks by backend.
TRANSPORTS = [
    pytest.param("httpx", "asyncio", id="httpx-asyncio"),
    pytest.param("httpx", "trio", id="httpx-trio"),
    pytest.param("aiohttp", "asyncio", id="aiohttp-asyncio"),
    pytest.param("auto", "asyncio", id="auto-asyncio"),  # the default: aiohttp's pool here
    pytest.param("auto", "trio", id="auto-trio"),  # and httpx's here
]
RETRIES = 2
TIMEOUT = 0.5

# (fault, the error the caller gets)
FAULTS = [
    pytest.param(Fault.RESET_AFTER_READ, APIConnectionError, id="reset-after-read"),
    pytest.param(Fault.CLOSE_BEFORE_STATUS, APIConnectionError, id="close-before-status"),
    pytest.param(Fault.TRUNCATED_BODY, APIConnectionError, id="truncated-body"),
    pytest.param(Fault.SLOW_ANSWER, APITimeoutError, id="slow-answer"),
]


def client_for(url: str, transport: str | None, **options: Any) -> AsyncCryptopay:
    """A client with fast retries; ``transport=None`` leaves the default as users get it."""
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "base_url": url,
        "rate_limiter": None,
        "timeout": TIMEOUT,
        "max_retries": RETRIES,
        "retry_policy": RetryPolicy(initial_backoff=0),
        **options,
    }
    if transport is not None:
        settings["transport"] = transport
    return AsyncCryptopay(**settings)


async def call(client: AsyncCryptopay, method: str) -> Any:
    if method == "POST":
        payout = {"charged_amount": "10", "custom_id": "payout-1"}
        return await client.request("POST", "/api/coin_withdrawals", json=payout)
    return await client.request("GET", "/api/coin_withdrawals/some-id")


def attempts_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if " attempt=" in r.getMessage())


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
@pytest.mark.parametrize(("fault", "error"), FAULTS)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_request_the_server_may_have_processed(
    transport: str | None,
    fault: Fault,
    error: type[APIConnectionError],
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cryptopay_async")
    with MisbehavingServer(fault) as server:
        async with client_for(server.url, transport) as client:
            with pytest.raises(APIConnectionError) as caught:
                await call(client, method)
    assert type(caught.value) is error
    # A read did nothing; a POST that arrived may have created the payout.
    assert caught.value.maybe_processed == (method == "POST")
    expected = 1 + RETRIES if method == "GET" else 1  # a POST is never repeated
    assert server.count(method) == expected
    assert attempts_logged(caplog) == expected


# (where the client connects, the error the caller gets, its cause): nothing was sent.
NOTHING_SENT = [
    pytest.param(closed_port, APIConnectionError, httpx.ConnectError, id="refused"),
    pytest.param(unanswered_port, APITimeoutError, httpx.ConnectTimeout, id="connect-timeout"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
@pytest.mark.parametrize(("port", "error", "cause"), NOTHING_SENT)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_connection_never_made_sent_nothing_and_is_retried(
    transport: str | None,
    port: Callable[[], AbstractContextManager[str]],
    error: type[APIConnectionError],
    cause: type[httpx.TransportError],
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cryptopay_async")
    with port() as url:
        async with client_for(url, transport) as client:
            with pytest.raises(APIConnectionError) as caught:
                await call(client, method)
    assert type(caught.value) is error
    assert isinstance(caught.value.__cause__, cause)
    assert not caught.value.maybe_processed
    assert attempts_logged(caplog) == 1 + RETRIES  # a POST too: nothing left this machine


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
async def test_the_client_keeps_working_after_faults(transport: str | None) -> None:
    with MisbehavingServer(Fault.ANSWER) as server:
        async with client_for(server.url, transport) as client:
            for method in ["GET", "POST"] * 3:
                assert await call(client, method) == {"data": {"ok": True}}
    assert server.count("GET") == server.count("POST") == 3


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("fault", [Fault.RESET_AFTER_READ, Fault.CLOSE_BEFORE_STATUS])
async def test_a_third_party_transport_that_mislabels_a_disconnect_gets_no_repeat(
    fault: Fault,
) -> None:
    """httpx-aiohttp reports these as ``ConnectTimeout`` ("never sent"); the SDK has no
    proof that nothing was sent over a caller's transport, so a POST is not repeated."""
    from httpx_aiohttp import AiohttpTransport

    with MisbehavingServer(fault) as server:
        http = httpx.AsyncClient(transport=AiohttpTransport())
        async with client_for(server.url, "httpx", http_client=http) as client:
            with pytest.raises(APIConnectionError) as caught:
                await call(client, "POST")
        await http.aclose()
    assert caught.value.maybe_processed
    assert server.count("POST") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_aiohttp_transport_says_it_needs_asyncio() -> None:
    async with client_for("http://127.0.0.1:9", "aiohttp") as client:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await call(client, "GET")


@pytest.mark.anyio
async def test_a_callers_httpx_client_proves_a_refused_connection_sent_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over a caller's client the proof is httpcore's "connection.connect_tcp.failed"."""
    caplog.set_level(logging.DEBUG, logger="cryptopay_async")
    events: list[str] = []

    async def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    with closed_port() as url:
        async with (
            httpx.AsyncClient() as http,
            client_for(url, "httpx", http_client=http) as client,
        ):
            with pytest.raises(APIConnectionError) as caught:
                await call(client, "POST")
            # The SDK's progress record wraps a caller's own trace callback, never replaces it.
            request = httpx.Request("GET", url, extensions={"trace": trace})
            with pytest.raises(httpx.ConnectError):
                await client._runtime.transport(request)
    assert not caught.value.maybe_processed
    assert attempts_logged(caplog) == 1 + RETRIES + 1
    assert "connection.connect_tcp.failed" in events
    assert request.extensions["trace"] is trace


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_pooled_connection_the_server_closed_while_idle_is_not_used(
    transport: str | None, method: str
) -> None:
    """The server closed the kept-alive connection between two requests, and the client
    saw the close: the second request goes on a new connection and arrives once."""
    with MisbehavingServer(Fault.ANSWER, idle_close=IdleClose.AT_ONCE) as server:
        async with client_for(server.url, transport) as client:
            assert await call(client, method) == {"data": {"ok": True}}
            await anyio.sleep(0.2)  # the server's FIN reaches the client's pool
            assert await call(client, method) == {"data": {"ok": True}}
    assert server.count(method) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_request_on_a_pooled_connection_the_server_dropped_is_maybe_processed(
    transport: str | None, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The close raced the reuse: the request went out on a connection the server then
    reset. Nothing proves the server did not read it, so a POST is reported as maybe
    processed and not repeated; a GET is retried on a new connection."""
    caplog.set_level(logging.DEBUG, logger="cryptopay_async")
    with MisbehavingServer(Fault.ANSWER, idle_close=IdleClose.ON_NEXT_REQUEST) as server:
        async with client_for(server.url, transport) as client:
            assert await call(client, method) == {"data": {"ok": True}}
            if method == "GET":
                assert await call(client, method) == {"data": {"ok": True}}
            else:
                with pytest.raises(APIConnectionError) as caught:
                    await call(client, method)
                assert caught.value.maybe_processed
    # The first request, then: a GET's retry on a fresh connection; a POST nothing more.
    assert server.count(method) == (2 if method == "GET" else 1)
    assert attempts_logged(caplog) == (3 if method == "GET" else 2)
