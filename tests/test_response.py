from __future__ import annotations

import httpx
import pytest

from cryptopay_async import APIResponseValidationError
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


@pytest.mark.parametrize("data", [[], None, "rates", 42, True, [{"BTCEUR": {}}]])
async def test_rates_of_the_wrong_shape_are_a_validation_error(data: object) -> None:
    async with recorded_client(Recorder(lambda r: json_response(200, {"data": data}))) as client:
        with pytest.raises(APIResponseValidationError, match=r"dict\[str, Rate\]"):
            await client.rates.all()


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
