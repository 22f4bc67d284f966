"""Per-call options: ``timeout=``, ``extra_headers=``, ``extra_query=``, ``extra_body=``.

Against a real HTTP server on 127.0.0.1 that checks every signature itself, and the
emulator served the same way.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cryptopay_async import APITimeoutError, AsyncCryptopay, CallNext, RetryPolicy
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.fake_server import FakeCryptopay
from tests.support import API_KEY, API_SECRET, serve_asgi

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[tuple[str, FakeCryptopay]]:
    app = FakeCryptopay()
    with serve_asgi(app) as url:
        yield url, app


@contextlib.asynccontextmanager
async def served(emulator: CryptopayEmulator, **settings: Any) -> AsyncIterator[AsyncCryptopay]:
    """A client of ``emulator`` served by uvicorn on 127.0.0.1."""
    with serve_in_thread(emulator.asgi_app, lifespan="off") as url:
        async with AsyncCryptopay(
            api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, **settings
        ) as client:
            yield client


def client_for(url: str, **settings: Any) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key=API_KEY, api_secret=API_SECRET, base_url=url, rate_limiter=None, **settings
    )


async def test_extra_query_and_body_are_sent_and_signed(
    server: tuple[str, FakeCryptopay],
) -> None:
    url, app = server
    async with client_for(url) as client:
        await client.invoices.create(
            price_amount=Decimal("10"),
            price_currency="EUR",
            pay_currency="BTC",
            extra_query={"preview": "yes please"},
            extra_body={"shipping": {"country": "PT"}, "tags": ["a", "b"]},
            extra_headers={"X-Trace": "t-1", "User-Agent": "mine/1"},
        )
    (method, target, valid), (headers, body) = app.requests[-1], app.received[-1]
    assert (method, target, valid) == ("POST", "/api/invoices?preview=yes%20please", True)
    sent = json.loads(body)
    assert sent["shipping"] == {"country": "PT"}
    assert sent["tags"] == ["a", "b"]
    assert sent["price_amount"] == "10"
    assert headers["x-trace"] == "t-1"
    assert headers["user-agent"] == "mine/1"


async def test_a_list_keeps_its_options_on_every_page() -> None:
    emulator = CryptopayEmulator(rate_limit=100_000)
    sent: list[httpx.Request] = []

    async def watch(request: httpx.Request, call_next: CallNext) -> httpx.Response:
        sent.append(request)
        return await call_next(request)

    async with served(emulator, middleware=[watch]) as client:
        for n in range(51):  # two pages of 50
            await client.customers.create(id=f"C-{n}", currency="EUR")
        del sent[:]
        ids = [
            c.id
            async for c in client.customers.list(
                extra_query={"expand": "true"}, extra_headers={"X-Page": "p"}
            )
        ]
    assert len(ids) == 51
    assert len(sent) == 2
    assert sent[0].url.raw_path == b"/api/customers?expand=true"
    assert sent[1].url.raw_path.startswith(b"/api/customers?expand=true&starting_after=")
    assert [request.headers["x-page"] for request in sent] == ["p", "p"]
    assert emulator.errors_answered == {}  # every page's signature checked out


async def test_a_raw_response_takes_the_options_too(server: tuple[str, FakeCryptopay]) -> None:
    url, app = server
    async with client_for(url) as client:
        raw = await client.with_raw_response.invoices.retrieve(
            "inv-1", extra_query={"v": "2"}, extra_headers={"X-Raw": "1"}
        )
    assert raw.status_code == 200
    assert app.requests[-1] == ("GET", "/api/invoices/inv-1?v=2", True)
    assert app.received[-1][0]["x-raw"] == "1"


async def test_the_per_call_timeout_fires_while_the_client_default_does_not() -> None:
    app = FakeCryptopay(latency=0.5)
    with serve_asgi(app) as url:
        async with client_for(url, timeout=10, max_retries=0) as client:
            with pytest.raises(APITimeoutError):
                await client.invoices.retrieve("slow", timeout=0.1)
            invoice = await client.invoices.retrieve("slow")
    assert invoice.id == "slow"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"extra_headers": {"Authorization": "HMAC x:y"}}, "cannot set Authorization"),
        ({"extra_headers": {"date": "now"}}, "cannot set date"),
        ({"extra_headers": {"Content-Type": "text/plain"}}, "cannot set Content-Type"),
        ({"extra_headers": {"content-length": "1"}}, "cannot set content-length"),
        ({"extra_headers": {"HOST": "evil.example"}}, "cannot set HOST"),
        ({"extra_headers": {"X-A": "a\r\nX-B: b"}}, "control characters"),
        ({"extra_body": {"custom_id": "again"}}, "'custom_id', which invoices.create takes"),
        ({"extra_body": {"price_amount": "1"}}, "'price_amount', which invoices.create"),
        ({"extra_query": {"customer_id": "C"}}, None),  # create has no such argument
        ({"timeout": -1}, "timeout (connect) must be a number of seconds > 0"),
    ],
)
async def test_options_the_sdk_owns_are_refused_before_sending(
    server: tuple[str, FakeCryptopay], options: dict[str, Any], problem: str | None
) -> None:
    url, app = server
    async with client_for(url) as client:
        call = client.invoices.create(
            price_amount=Decimal("1"), price_currency="EUR", pay_currency="BTC", **options
        )
        if problem is None:
            await call
            return
        with pytest.raises(
            ValueError, match="^.*" + problem.replace("(", r"\(").replace(")", r"\)")
        ):
            await call
    assert app.requests == []


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda c: c.invoices.list(extra_query={"starting_after": "x"}), "starting_after"),
        (lambda c: c.invoices.list(extra_query={"customer_id": "x"}), "customer_id"),
        (lambda c: c.invoices.retrieve("i", extra_query={"invoice_id": "x"}), "invoice_id"),
    ],
)
async def test_an_extra_key_never_overwrites_an_argument(
    server: tuple[str, FakeCryptopay], call: Any, problem: str
) -> None:
    url, app = server
    async with client_for(url) as client:
        with pytest.raises(ValueError, match=f"sets '{problem}', which .* takes as an argument"):
            await call(client)
    assert app.requests == []


async def test_the_emulator_checks_the_signature_over_extra_query_and_body() -> None:
    emulator = CryptopayEmulator(rate_limit=100_000)
    async with served(emulator) as client:
        invoice = await client.invoices.create(
            price_amount="5",
            price_currency="EUR",
            pay_currency="BTC",
            custom_id="OPT-1",
            extra_query={"source": "test"},
            extra_body={"not_modelled_yet": True},
        )
        page = await client.invoices.list(extra_query={"source": "test"})
    assert invoice.custom_id == "OPT-1"
    assert [item.id for item in page.data] == [invoice.id]
    assert emulator.errors_answered == {}


async def test_an_extra_body_create_with_custom_id_still_settles_exactly_once() -> None:
    # Every answer comes 0.6 s after the request was processed: the create, with its
    # own 0.2 s timeout, gives up on an invoice that was made; the read-back by
    # custom_id runs with the client's 5 s and finds it.
    emulator = CryptopayEmulator(
        rate_limit=100_000, faults=Faults(delay_rate=1.0, delay_seconds=0.6, seed=1)
    )
    async with served(
        emulator, timeout=5, retry_policy=RetryPolicy(initial_backoff=0.01)
    ) as client:
        invoice = await client.invoices.create(
            price_amount="7",
            price_currency="EUR",
            pay_currency="BTC",
            custom_id="ONCE-1",
            extra_body={"not_modelled_yet": "x"},
            timeout=0.2,
        )
        seen_after_create = emulator.requests_seen
        listed = [item async for item in client.invoices.list()]
    assert invoice.custom_id == "ONCE-1"
    assert [item.custom_id for item in listed] == ["ONCE-1"]  # made once, not twice
    assert seen_after_create == 2  # the create that timed out, then the read-back


def test_timeout_accepts_an_httpx_timeout() -> None:
    from cryptopay_async.resources._base import call_options

    options = call_options(httpx.Timeout(1.0, read=3.0), None)
    assert options is not None
    assert options.timeout is not None
    assert options.timeout.read == 3.0
    assert call_options(None, None) is None
