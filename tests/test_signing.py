from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cryptopay_async import NotFoundError
from cryptopay_async._signing import http_date, sign, string_to_sign
from cryptopay_async.middleware import SigningMiddleware
from tests.support import (
    API_KEY,
    API_SECRET,
    API_SPEC,
    FIXTURES,
    Recorder,
    json_response,
    recorded_client,
    signature_is_valid,
)

VECTORS = json.loads((API_SPEC / "test-vectors.json").read_text())["request_signing"]
REPRODUCIBLE = [v for v in VECTORS if v.get("reproducible", True)]


@pytest.mark.parametrize("vector", REPRODUCIBLE, ids=[v["name"] for v in REPRODUCIBLE])
def test_every_published_vector(vector: dict[str, Any]) -> None:
    body = vector["body"].encode()
    assert (
        string_to_sign(vector["method"], body, vector["date"], vector["path"])
        == vector["string_to_sign"]
    )
    assert (
        sign(vector["api_secret"], vector["method"], body, vector["date"], vector["path"])
        == (vector["expected_signature"])
    )


def test_empty_body_signs_an_empty_digest_line_not_md5_of_nothing() -> None:
    line = string_to_sign("POST", b"", "d", "/api/x").split("\n")[1]
    assert line == ""


def test_http_date_is_imf_fixdate() -> None:
    assert http_date().endswith(" GMT")
    assert len(http_date().split()) == 6


async def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, request=request)


@pytest.mark.anyio
async def test_middleware_signs_what_is_sent() -> None:
    step = SigningMiddleware(API_KEY, API_SECRET)
    request = httpx.Request(
        "GET", "https://h/api/transactions?created_at_from=2021-10-01T00%3A00%3A00%2B00%3A00"
    )
    await step(request, _echo)
    assert request.headers["content-type"] == "application/json"
    assert signature_is_valid(request)
    assert API_SECRET not in repr(step)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("custom_id", "encoded"),
    [
        ("ORDER-42", "ORDER-42"),
        ("a/b", "a%2Fb"),
        ("with space", "with%20space"),
        ("what?", "what%3F"),
        ("100%", "100%25"),
        ("zahlung-ä€", "zahlung-%C3%A4%E2%82%AC"),
    ],
)
async def test_reserved_characters_in_path_are_encoded_and_signed_as_sent(
    custom_id: str, encoded: str
) -> None:
    recorder = Recorder(lambda r: json_response(404, {}))
    async with recorded_client(recorder, max_retries=0) as client:
        with pytest.raises(NotFoundError):
            await client.invoices.retrieve(custom_id)
    sent = recorder.requests[0]
    assert sent.url.raw_path == f"/api/invoices/{encoded}".encode()
    assert signature_is_valid(sent)


@pytest.mark.anyio
async def test_body_bytes_are_hashed_and_sent_identically() -> None:
    recorder = Recorder(
        lambda r: json_response(
            201,
            json.loads((FIXTURES / "responses-2023/invoices/create.json").read_text()),
        )
    )
    async with recorded_client(recorder) as client:
        await client.invoices.create(price_amount="100.0", price_currency="EUR", pay_currency="BTC")
    sent = recorder.requests[0]
    assert json.loads(sent.content) == {
        "price_amount": "100.0",
        "price_currency": "EUR",
        "pay_currency": "BTC",
    }
    assert signature_is_valid(sent)
    assert sent.headers["content-type"] == "application/json"
