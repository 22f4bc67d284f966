from __future__ import annotations

import httpx
import pytest

from cryptopay_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncCryptopay,
    NotFoundError,
)
from cryptopay_async._extensions import SENT
from cryptopay_async.middleware import ErrorDecodingMiddleware
from tests.support import API_KEY, API_SECRET, Recorder, fixture_bytes

pytestmark = pytest.mark.anyio


def answering(status: int, content: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    async def call_next(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers, request=request)

    return call_next


def raising(exc: Exception):  # type: ignore[no-untyped-def]
    async def call_next(request: httpx.Request) -> httpx.Response:
        raise exc

    return call_next


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_success_statuses_pass_through(status: int) -> None:
    request = httpx.Request("GET", "https://h/api/x")
    response = await ErrorDecodingMiddleware()(request, answering(status))
    assert response.status_code == status


async def test_304_passes_only_for_a_conditional_request() -> None:
    step = ErrorDecodingMiddleware()
    conditional = httpx.Request("GET", "https://h/api/x", headers={"If-None-Match": '"abc"'})
    assert (await step(conditional, answering(304))).status_code == 304
    with pytest.raises(APIStatusError) as caught:
        await step(httpx.Request("GET", "https://h/api/x"), answering(304))
    assert caught.value.status_code == 304


async def test_error_payload_becomes_the_status_class() -> None:
    body = fixture_bytes("errors/404-not_found.json")
    with pytest.raises(NotFoundError) as caught:
        await ErrorDecodingMiddleware()(httpx.Request("GET", "https://h/x"), answering(404, body))
    assert caught.value.request_id == "1bd79df91f60d973bbc4583d4be241d5"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadError("reset"), APIConnectionError),
        (httpx.RemoteProtocolError("closed"), APIConnectionError),
        (httpx.ConnectTimeout("slow"), APITimeoutError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.PoolTimeout("busy"), APITimeoutError),
    ],
)
async def test_network_failures_are_wrapped_with_the_cause_chained(
    raised: Exception, expected: type[Exception]
) -> None:
    request = httpx.Request("POST", "https://h/api/coin_withdrawals")
    with pytest.raises(expected) as caught:
        await ErrorDecodingMiddleware()(request, raising(raised))
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised
    assert caught.value.request is request  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sent", "processed", "note"),
    [
        (False, False, "nothing was sent"),
        (True, True, "may have been processed"),
        (None, True, "may have been processed"),  # no record: assume the worst
    ],
)
@pytest.mark.parametrize("raised", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
async def test_the_error_says_whether_the_server_may_have_processed_the_request(
    raised: Exception, sent: bool | None, processed: bool, note: str
) -> None:
    request = httpx.Request("POST", "https://h/api/coin_withdrawals")
    if sent is not None:
        request.extensions[SENT] = sent
    with pytest.raises(APIConnectionError) as caught:
        await ErrorDecodingMiddleware()(request, raising(raised))
    assert caught.value.maybe_processed is processed
    assert (note in str(caught.value)) is processed


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(status: int) -> None:
    recorder = Recorder(
        lambda r: httpx.Response(status, headers={"Location": "https://evil.example/steal"})
    )
    # Even a caller-owned client configured to follow redirects must not follow ours.
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder), follow_redirects=True)
    async with AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url="https://h",
        http_client=http,
        rate_limiter=None,
    ) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.invoices.retrieve("c8233d57-78c8-4c36-b35e-940ae9067c78")
    await http.aclose()
    assert caught.value.status_code == status
    assert [str(r.url.host) for r in recorder.requests] == ["h"]
