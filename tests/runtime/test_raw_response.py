"""``client.with_raw_response``: status, headers, request id and timing of a successful call."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from cryptopay_async import (
    APIResponse,
    APIResponseValidationError,
    AsyncCryptopay,
    NotFoundError,
)
from cryptopay_async.models import Invoice, Rate
from cryptopay_async.models._pagination import Page
from cryptopay_async.testing import CryptopayEmulator
from tests.support import Recorder, fixture_json, json_response, recorded_client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emulated() -> Any:
    emulator = CryptopayEmulator(rate_limit=100_000)
    async with emulator.client() as client:
        yield client


async def test_a_create_gives_201_headers_timing_and_the_invoice(emulated: AsyncCryptopay) -> None:
    raw = await emulated.with_raw_response.invoices.create(
        price_amount=Decimal("10"), price_currency="EUR", pay_currency="BTC", custom_id="RAW-1"
    )
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 201
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.request_id is None  # recorded success bodies carry no meta.request_id
    assert isinstance(raw.elapsed, datetime.timedelta)
    assert raw.http_response.request.method == "POST"
    invoice = raw.parse()
    assert isinstance(invoice, Invoice)
    assert invoice.custom_id == "RAW-1"
    assert await emulated.invoices.retrieve(invoice.id) == invoice


async def test_a_retrieve_gives_200_and_the_same_value_as_the_plain_call(
    emulated: AsyncCryptopay,
) -> None:
    raw = await emulated.with_raw_response.rates.retrieve("BTC", "EUR")
    assert raw.status_code == 200
    assert isinstance(raw.parse(), Rate)
    assert raw.parse() == await emulated.rates.retrieve("BTC", "EUR")


async def test_a_paginated_operation_gives_the_first_page_answer(
    emulated: AsyncCryptopay,
) -> None:
    for n in range(3):
        await emulated.invoices.create(
            price_amount=Decimal("1"), price_currency="EUR", pay_currency="BTC", custom_id=f"P{n}"
        )
    raw = await emulated.with_raw_response.invoices.list()
    assert raw.status_code == 200
    assert raw.http_response.request.url.path == "/api/invoices"
    page = raw.parse()
    assert isinstance(page, Page)
    assert {invoice.custom_id for invoice in page.data} == {"P0", "P1", "P2"}


async def test_errors_are_raised_as_by_the_plain_call(emulated: AsyncCryptopay) -> None:
    with pytest.raises(NotFoundError):
        await emulated.with_raw_response.rates.retrieve("BTC", "XYZ")


async def test_request_id_and_cf_ray_are_read_from_the_answer() -> None:
    body = {"data": fixture_json("responses/rates/retrieve.json")["data"]}
    body["meta"] = {"request_id": "0123abcd"}
    recorder = Recorder(lambda r: json_response(200, body, {"CF-Ray": "8f1a2b3c4d-AMS"}))
    async with recorded_client(recorder) as client:
        raw = await client.with_raw_response.rates.retrieve("BTC", "EUR")
    assert raw.request_id == "0123abcd"
    assert raw.headers["cf-ray"] == "8f1a2b3c4d-AMS"
    assert "200" in repr(raw)


async def test_an_answer_that_does_not_decode_is_still_returned() -> None:
    recorder = Recorder(lambda r: json_response(200, {"data": {"buy_rate": "not a number"}}))
    async with recorded_client(recorder) as client:
        raw = await client.with_raw_response.rates.retrieve("BTC", "EUR")
        assert raw.status_code == 200
        with pytest.raises(APIResponseValidationError):
            raw.parse()
        with pytest.raises(APIResponseValidationError):
            await client.rates.retrieve("BTC", "EUR")


async def test_concurrent_raw_calls_keep_their_own_answers(emulated: AsyncCryptopay) -> None:
    results: dict[str, APIResponse[Any]] = {}

    async def fetch(quote: str) -> None:
        results[quote] = await emulated.with_raw_response.rates.retrieve("BTC", quote)

    async with anyio.create_task_group() as tg:
        for quote in ("EUR", "USD", "GBP"):
            tg.start_soon(fetch, quote)
    for quote, raw in results.items():
        assert raw.http_response.request.url.path == f"/api/rates/BTC/{quote}"


def test_unknown_resources_and_operations_are_attribute_errors() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s", http_client=httpx.AsyncClient())
    with pytest.raises(AttributeError, match="no resource 'invoice'"):
        _ = client.with_raw_response.invoice
    with pytest.raises(AttributeError):
        _ = client.with_raw_response.invoices.retreive
    assert "retrieve" in dir(client.with_raw_response.invoices)
    assert client.with_raw_response is client.with_raw_response
