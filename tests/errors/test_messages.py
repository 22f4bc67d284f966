"""Errors a person can act on: each common failure, produced for real, read as one line."""

from __future__ import annotations

import email.utils
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncCryptopay,
    AuthenticationError,
    ConflictError,
    CryptopayError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
)
from cryptopay_async._errors._exceptions import status_error_from_response
from cryptopay_async._errors._messages import clip
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator
from cryptopay_async.testing._server import free_port, serve_in_thread
from tests.fake_server import FakeCryptopay
from tests.support import API_KEY, API_SECRET, Recorder, fixture_bytes, recorded_client

pytestmark = pytest.mark.anyio

MAX_LENGTH = 1000


def assert_actionable(error: CryptopayError, *secrets: str) -> str:
    """One line, bounded, no secret; returns the text for the case's own checks."""
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    assert len(text) <= MAX_LENGTH, len(text)
    for secret in secrets:
        assert secret not in text
    return text


@pytest.fixture
async def emulated(
    cryptopay_server: tuple[CryptopayEmulator, str],
) -> AsyncIterator[tuple[CryptopayEmulator, AsyncCryptopay]]:
    emulator, url = cryptopay_server
    async with AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        base_url=url,
        rate_limiter=None,
        retry_policy=RetryPolicy(initial_backoff=0),
    ) as client:
        yield emulator, client


async def test_404_names_method_and_path(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulated
    with pytest.raises(NotFoundError) as caught:
        await client.rates.retrieve("BTC", "XYZ")
    text = assert_actionable(caught.value)
    assert text.startswith("GET /api/rates/BTC/XYZ -> 404 not_found: not found (request_id=")


async def test_404_path_is_shown_as_sent_percent_encoded(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulated
    with pytest.raises(NotFoundError) as caught:
        await client.invoices.retrieve_by_custom_id("ORDER 42/a\n")
    text = assert_actionable(caught.value)
    assert "GET /api/invoices/custom_id/ORDER%2042%2Fa%0A -> 404" in text


async def test_401_lists_key_secret_environment_and_clock(
    cryptopay_server: tuple[CryptopayEmulator, str],
) -> None:
    emulator, url = cryptopay_server
    wrong_secret = "not-the-secret-" + "x" * 20
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=wrong_secret, base_url=url, rate_limiter=None
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.accounts.list()
    text = assert_actionable(caught.value, wrong_secret, emulator.api_key, emulator.api_secret)
    assert text.startswith("GET /api/accounts -> 401 unauthenticated: ")
    assert f"the API key '{emulator.api_key[:4]}…' exists for 127.0.0.1:" in text
    assert "sandbox and production keys differ" in text
    assert "the API secret belongs to that key" in text
    assert "the clock is within 15 min of the server's" in text


async def test_401_from_a_clock_20_minutes_ahead_says_so_first(
    cryptopay_server: tuple[CryptopayEmulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = cryptopay_server
    ahead = email.utils.formatdate(time.time() + 20 * 60, usegmt=True)
    monkeypatch.setattr("cryptopay_async._signing.http_date", lambda: ahead)
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.accounts.list()
    text = assert_actionable(caught.value, emulator.api_secret)
    assert "check: this machine's clock is 20 min ahead of the server's" in text


@pytest.mark.parametrize(
    ("host", "environment"),
    [
        ("business-sandbox.cryptopay.me", "sandbox (business-sandbox.cryptopay.me)"),
        ("business.cryptopay.me", "production (business.cryptopay.me)"),
    ],
)
def test_401_names_the_environment_of_the_host(host: str, environment: str) -> None:
    request = httpx.Request(
        "GET", f"https://{host}/api/accounts", headers={"Authorization": f"HMAC {API_KEY}:sig"}
    )
    error = status_error_from_response(httpx.Response(401, request=request))
    text = assert_actionable(error, API_KEY, "sig")
    assert f"the API key 'test…' exists for {environment}" in text


async def test_409_names_the_custom_id(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulated
    invoice: dict[str, Any] = {
        "price_amount": Decimal("10"),
        "price_currency": "EUR",
        "pay_currency": "BTC",
        "custom_id": "ORDER-409",
    }
    await client.invoices.create(**invoice)
    with pytest.raises(ConflictError) as caught:
        await client.invoices.create(**invoice)
    text = assert_actionable(caught.value)
    assert text.startswith("POST /api/invoices -> 409 ")
    assert "custom_id 'ORDER-409' was used before" in text
    assert "retrieve_by_custom_id" in text


async def test_422_shows_the_list_the_value_must_be_in(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    _, client = emulated
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.invoices.create(
            price_amount=Decimal("10"), price_currency="EUR", pay_currency="XYZ"
        )
    text = assert_actionable(caught.value)
    # The recorded message carries the list itself: "must be one of: BTC, LTC, ...".
    assert "[pay_currency must be one of: " in text
    assert "BTC" in text.split("must be one of: ", 1)[1]


@pytest.fixture
def strict_server() -> Iterator[tuple[CryptopayEmulator, str]]:
    """An emulator that admits one request per minute."""
    emulator = CryptopayEmulator(rate_limit=1)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


@pytest.mark.parametrize(
    ("limit", "retries", "said"),
    [
        (
            None,
            2,
            "after 3 attempts to {host} (this client has no rate limiter: rate_limiter=None)",
        ),
        (
            (5, 60.0),
            0,
            "after 1 attempt to {host} (this client's limiter allows 5 requests per 60 s: "
            "another client shares the key?)",
        ),
    ],
)
async def test_429_says_how_many_attempts_where_and_what_the_client_limiter_allows(
    strict_server: tuple[CryptopayEmulator, str],
    limit: tuple[int, float] | None,
    retries: int,
    said: str,
) -> None:
    emulator, url = strict_server
    async with AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        base_url=url,
        rate_limiter=None if limit is None else TokenBucket(*limit),
        retry_policy=RetryPolicy(initial_backoff=0),
        max_retries=retries,
    ) as client:
        await client.coins.list()
        with pytest.raises(RateLimitError) as caught:
            await client.coins.list()
    text = assert_actionable(caught.value)
    assert "GET /api/coins -> 429 rate_limit_exceeded" in text
    assert said.format(host=url.removeprefix("http://")) in text
    assert "200 requests per minute" not in text  # the server's limit here is 1


async def test_connection_refused_says_how_many_attempts_and_where() -> None:
    port = free_port()
    async with AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url=f"http://127.0.0.1:{port}",
        rate_limiter=None,
        retry_policy=RetryPolicy(initial_backoff=0),
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.rates.all()
    text = assert_actionable(caught.value, API_SECRET)
    assert text.startswith(f"GET /api/rates failed after 3 attempts to 127.0.0.1:{port}: Connect")


@pytest.fixture
def slow_server() -> Iterator[str]:
    with serve_in_thread(FakeCryptopay(latency=2.0), lifespan="off") as url:
        yield url


async def test_timeout_says_how_many_attempts_and_where(slow_server: str) -> None:
    async with AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url=slow_server,
        rate_limiter=None,
        timeout=0.2,
        retry_policy=RetryPolicy(initial_backoff=0),
        max_retries=1,
    ) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.invoices.retrieve("c8233d57-78c8-4c36-b35e-940ae9067c78")
    text = assert_actionable(caught.value, API_SECRET)
    host = slow_server.removeprefix("http://")
    assert text.startswith("GET /api/invoices/c8233d57-78c8-4c36-b35e-940ae9067c78 timed out")
    assert f"timed out after 2 attempts to {host} (ReadTimeout" in text


HOSTILE = "line one\nline two\r\x1b[31m" + "é" * 3000


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 429, 500, 503])
def test_hostile_server_text_stays_one_bounded_line(status: int) -> None:
    request = httpx.Request(
        "POST",
        "https://h/api/invoices/" + "%2E%2E" * 200,
        headers={"Authorization": f"HMAC {API_KEY}:c2ln"},
        content=b'{"custom_id": "' + b"\\n" * 500 + b'"}',
        extensions={"cryptopay_async.attempt": 3},
    )
    details = [
        {"code": HOSTILE, "target": HOSTILE, "message": HOSTILE, "args": {"list": [HOSTILE] * 99}}
    ] * 40
    body = {"error": {"code": HOSTILE, "message": HOSTILE, "details": details}}
    body["meta"] = {"request_id": HOSTILE}
    response = httpx.Response(status, content=json.dumps(body).encode(), request=request)
    error = status_error_from_response(response)
    text = assert_actionable(error, API_KEY, "c2ln")
    assert "\x1b" not in text


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("plain", 10, "plain"),
        ("a\nb", 10, "a\\nb"),
        ("x" * 20, 10, "x" * 9 + "…"),
        ("\x00\x7f\u2028", 20, "\\x00\\x7f\\u2028"),
    ],
)
def test_clip_escapes_and_bounds(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected


FORGED = "X\r\nINFO forged \x1b[2J"


def _recovery_server(request: httpx.Request) -> httpx.Response:
    """A create answered 502 (ambiguous), its read-back naming other values; commits expire."""
    if request.method == "POST" and request.url.path == "/api/channels":
        return httpx.Response(502)
    if request.url.path.startswith("/api/channels/custom_id/"):
        channel = json.loads(fixture_bytes("responses/channels/retrieve_by_custom_id.json"))
        channel["data"].update(id=FORGED, name=FORGED + "server", pay_currency=FORGED)
        return httpx.Response(200, content=json.dumps(channel).encode())
    expired = {"code": "expired", "target": "id", "message": FORGED}
    body = {"error": {"code": "invalid", "message": FORGED, "details": [expired]}}
    return httpx.Response(422, content=json.dumps(body).encode())


@pytest.mark.parametrize("operation", ["channels.create", "coin_withdrawals.commit"])
async def test_recovery_messages_show_caller_and_server_text_escaped(operation: str) -> None:
    # The commit-expired and custom-id-mismatch messages put the caller's id and name and
    # the server's values in as they were: a newline there forged a log line.
    recorder = Recorder(_recovery_server)
    async with recorded_client(recorder) as client:
        if operation == "channels.create":
            call: Awaitable[object] = client.channels.create(
                name=FORGED, pay_currency="BTC", receiver_currency="EUR", custom_id="C-1"
            )
        else:
            call = client.coin_withdrawals.commit(FORGED)
        with pytest.raises(CryptopayError) as caught:
            await call
    text = assert_actionable(caught.value)
    assert "\x1b" not in text
    assert "INFO forged" in text  # shown, escaped


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)
DETAILS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "code": JSON_VALUES,
            "target": JSON_VALUES,
            "message": JSON_VALUES,
            "args": st.dictionaries(st.text(), JSON_VALUES, max_size=4),
        },
    ),
    max_size=8,
)


@given(
    status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 502, 503]),
    code=JSON_VALUES,
    message=JSON_VALUES,
    details=DETAILS,
    request_id=JSON_VALUES,
    custom_id=st.text(),
    path=st.text(min_size=1, max_size=300),
)
@settings(max_examples=200, deadline=None)
def test_any_error_body_reads_as_one_bounded_printable_line(
    status: int,
    code: Any,
    message: Any,
    details: list[dict[str, Any]],
    request_id: Any,
    custom_id: str,
    path: str,
) -> None:
    request = httpx.Request(
        "POST",
        "https://h/api/invoices/" + urllib.parse.quote(path, safe=""),  # as the SDK sends
        headers={"Authorization": f"HMAC {API_KEY}:c2ln"},
        content=json.dumps({"custom_id": custom_id}).encode(),
    )
    body = {
        "error": {"code": code, "message": message, "details": details},
        "meta": {"request_id": request_id},
    }
    response = httpx.Response(status, content=json.dumps(body).encode(), request=request)
    text = assert_actionable(status_error_from_response(response), API_KEY, "c2ln")
    assert text.isprintable()


@pytest.mark.parametrize(
    ("key", "shown"),
    [("KEYKEYKEY", "'KEY…'"), ("abcdefghijklmnopqrstuvwxyz", "'abcd…'"), ("ab", "'…'")],
)
def test_a_key_is_shown_by_one_rule_in_reprs_and_messages(key: str, shown: str) -> None:
    from cryptopay_async._errors._messages import key_prefix
    from cryptopay_async._runtime._settings import ClientSettings

    assert key_prefix(key) == shown
    settings = ClientSettings.resolve(
        api_key=key,
        api_secret="s" * 20,
        callback_secret=None,
        environment=None,
        base_url=None,
        timeout=1.0,
        max_retries=0,
        retry_policy=None,
        middleware=(),
        max_concurrency=1,
    )
    assert f"api_key={shown}" in repr(settings)
