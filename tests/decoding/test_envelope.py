"""A success answer's body into models, or a short APIResponseValidationError."""

from __future__ import annotations

import json
import tracemalloc

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async import APIResponseValidationError, CryptopayError
from cryptopay_async._errors._exceptions import status_error_class
from cryptopay_async.models import Invoice, Page, Rate
from tests.support import Recorder, fixture_json, json_response, recorded_client

pytestmark = pytest.mark.anyio

INVOICE_ID = "c8233d57-78c8-4c36-b35e-940ae9067c78"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (json_response(200, {"data": {"a": 1}}), {"data": {"a": 1}}),
        (json_response(202, {"data": "accepted"}), {"data": "accepted"}),
        (httpx.Response(204), None),
    ],
)
async def test_raw_request_returns_what_the_body_holds(
    answer: httpx.Response, expected: object
) -> None:
    async with recorded_client(Recorder(lambda r: answer)) as client:
        assert await client.request("GET", "/api/anything") == expected


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (httpx.Response(200, content=b"<html>proxy</html>"), "not JSON"),
        (httpx.Response(200, content=b""), "not JSON"),
        (json_response(200, [1, 2]), "no 'data' envelope"),
        (json_response(200, {"data": {"id": INVOICE_ID}}), "required field missing"),
        (
            json_response(
                200,
                {
                    "data": {
                        **fixture_json("responses-2023/invoices/retrieve.json")["data"],
                        "price_amount": "a lot",
                    }
                },
            ),
            "data.price_amount",
        ),
        (
            json_response(
                200,
                {
                    "data": {
                        **fixture_json("responses-2023/invoices/retrieve.json")["data"],
                        "created_at": "yesterday",
                    }
                },
            ),
            "data.created_at",
        ),
    ],
)
async def test_a_2xx_body_that_does_not_decode_names_model_and_field(
    answer: httpx.Response, fragment: str
) -> None:
    async with recorded_client(Recorder(lambda r: answer)) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client.invoices.retrieve(INVOICE_ID)
    assert fragment in str(caught.value)
    assert caught.value.response.status_code == answer.status_code
    if "data." in fragment:
        assert "Invoice" in str(caught.value)


async def test_unknown_fields_and_enum_values_are_tolerated() -> None:
    data = fixture_json("responses-2023/invoices/retrieve.json")["data"]
    answer = json_response(200, {"data": {**data, "status": "frozen", "brand_new_field": [1]}})
    async with recorded_client(Recorder(lambda r: answer)) as client:
        invoice = await client.invoices.retrieve(INVOICE_ID)
    assert invoice.status == "frozen"
    assert type(invoice.status) is str


MALFORMED_PAGES = {
    "20 KB string": b'{"data":"' + b"a" * 20_000 + b'"}',
    "50 KB string": b'{"data":"' + b"a" * 50_000 + b'"}',
    "2 MB string": b'{"data":"' + b"a" * 2_000_000 + b'"}',
    "10,000 bad elements": b'{"data":[' + b",".join([b'{"id":1}'] * 10_000) + b"]}",
}


@pytest.mark.parametrize("name", list(MALFORMED_PAGES))
async def test_a_malformed_page_is_refused_in_proportion_to_its_size(
    engine_in_use: object, name: str
) -> None:
    raw = MALFORMED_PAGES[name]
    answer = httpx.Response(200, content=raw, headers={"content-type": "application/json"})
    async with recorded_client(Recorder(lambda r: answer)) as client:
        tracemalloc.start()
        try:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.invoices.list()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "$.data" in str(caught.value)
    assert len(str(caught.value)) <= 500
    # Once the body's size in parsed values at most, not one exception per element.
    assert peak <= 30 * len(raw) + 2_000_000, f"{peak:,} bytes for {len(raw):,}"


@pytest.mark.parametrize(
    "data",
    [[], None, "rates", 0, True, [{"BTCEUR": {}}], {"BTCEUR": []}, {"BTCEUR": {"buy_rate": 1}}],
)
async def test_rates_all_refuses_every_other_shape(engine_in_use: object, data: object) -> None:
    answer = json_response(200, {"data": data})
    async with recorded_client(Recorder(lambda r: answer)) as client:
        with pytest.raises(APIResponseValidationError, match=r"dict\[str, Rate\]"):
            await client.rates.all()


# Any status with any body: a model, or the CryptopayError the status calls for.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
invoice_fields = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.just(value)
        for key, value in fixture_json("responses-2023/invoices/retrieve.json")["data"].items()
    },
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda data, meta: json.dumps({"data": data, "meta": meta}).encode(),
        json_values | invoice_fields | st.lists(invoice_fields, max_size=3),
        json_values,
    ),
)
statuses = st.sampled_from([200, 201, 202, 204, 301, 304, 400, 401, 404, 409, 422, 429, 500, 503])
CALLS = {
    "invoices.retrieve": lambda client: client.invoices.retrieve(INVOICE_ID),
    "invoices.list": lambda client: client.invoices.list(),
    "rates.all": lambda client: client.rates.all(),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(
    max_examples=150,
    deadline=None,
    # engine_in_use is the same for every example: resetting it is not needed.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(status=statuses | st.integers(200, 599), content=bodies)
def test_any_answer_is_a_model_or_the_right_error(
    engine_in_use: object, call: str, backend: str, status: int, content: bytes
) -> None:
    async def outcome() -> object:
        answer = httpx.Response(status, content=content)
        async with recorded_client(Recorder(lambda r: answer), max_retries=0) as client:
            try:
                return await CALLS[call](client)
            except CryptopayError as exc:
                return exc

    result = anyio.run(outcome, backend=backend)
    if not 200 <= status < 300:
        assert type(result) is status_error_class(status)
    elif isinstance(result, CryptopayError):
        assert type(result) is APIResponseValidationError
        assert len(str(result)) <= 500
    elif status == 204:  # public-api.md §5: no content is None, or an empty last page
        assert result is None if call != "invoices.list" else not result.data  # type: ignore[attr-defined]
    elif call == "invoices.retrieve":
        assert type(result) is Invoice
    elif call == "invoices.list":
        assert type(result) is Page
        assert all(type(item) is Invoice for item in result.data)
    else:
        assert type(result) is dict
        assert all(type(rate) is Rate for rate in result.values())


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/api/accounts/../transactions", "'..' segment"),
        ("/api/accounts/./transactions", "'.' segment"),
        ("/api/accounts/%2E%2E/transactions", "'%2E%2E' segment"),
        ("/api/invoices#fragment", "without '#'"),
        ("/api/invoices/a\nINFO forged", "control characters"),
        ("/api/invoices/a b", "spaces"),
        ("/api/\udcff", "not valid Unicode"),
        ("api/invoices", "must start with '/'"),
    ],
)
async def test_raw_request_refuses_paths_httpx_would_change(path: str, fragment: str) -> None:
    recorder = Recorder(lambda r: json_response(200, {}))
    async with recorded_client(recorder) as client:
        with pytest.raises(ValueError, match=r"^path ") as caught:
            await client.request("GET", path)
    assert fragment in str(caught.value)
    assert recorder.requests == []


async def test_raw_request_sends_an_encoded_path_and_its_query_as_given() -> None:
    recorder = Recorder(lambda r: json_response(200, {}))
    async with recorded_client(recorder) as client:
        await client.request("GET", "/api/invoices/custom_id/a%2F..?x=1", params={"y": "2 3"})
    assert recorder.requests[0].url.raw_path == b"/api/invoices/custom_id/a%2F..?x=1&y=2%203"


@pytest.mark.parametrize("content", [b"<html>proxy</html>", b'{"data": ', b"\xff\xfe"])
async def test_raw_request_with_a_body_that_is_not_json_is_a_validation_error(
    content: bytes,
) -> None:
    answer = httpx.Response(200, content=content)
    async with recorded_client(Recorder(lambda r: answer)) as client:
        with pytest.raises(APIResponseValidationError, match="GET /api/anything answered 200"):
            await client.request("GET", "/api/anything")
