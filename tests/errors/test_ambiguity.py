"""Every error raised after a request says whether it may have been processed, and what to do.

The decision table of docs/guides/exactly-once.md, row by row: the failure, the method,
whether a custom_id was sent, and the ``maybe_processed`` the caller gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine

import httpx
import pytest

from cryptopay_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AsyncCryptopay,
    CryptopayError,
    RetryPolicy,
)
from cryptopay_async._errors._messages import shown
from tests.support import API_KEY, API_SECRET, json_response

pytestmark = pytest.mark.anyio

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def raising(error: type[httpx.TransportError]) -> Handler:
    async def handler(request: httpx.Request) -> httpx.Response:
        if issubclass(error, NEVER_SENT):
            # How a transport proves nothing was sent: httpcore's event for a failed
            # connect (the SDK does not take an exception's class for it).
            await request.extensions["trace"]("connection.connect_tcp.failed", {})
        raise error("scripted", request=request)

    return handler


def answering(status: int, body: bytes = b'{"error": {"code": "x", "message": "x"}}') -> Handler:
    return lambda request: httpx.Response(status, content=body)


FAILURES: list[tuple[str, Handler, bool]] = [
    # (failure, what the transport does, maybe_processed for a POST)
    ("connect refused", raising(httpx.ConnectError), False),
    ("connect timeout", raising(httpx.ConnectTimeout), False),
    ("pool timeout", raising(httpx.PoolTimeout), False),
    ("write timeout", raising(httpx.WriteTimeout), True),
    ("read timeout", raising(httpx.ReadTimeout), True),
    ("dropped mid-answer", raising(httpx.RemoteProtocolError), True),
    ("reset", raising(httpx.ReadError), True),
    ("500", answering(500), True),
    ("502", answering(502, b"<html>bad gateway</html>"), True),
    ("504", answering(504), True),
    ("503", answering(503), False),
    ("429", answering(429), False),
    ("400", answering(400), False),
    ("404", answering(404), False),
    ("409", answering(409), False),
    ("422", answering(422), False),
    ("2xx not JSON", answering(201, b"<html>ok</html>"), True),
]


async def failure_of(handler: Handler, call: str) -> CryptopayError:
    async with AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url="https://cryptopay.invalid",
        rate_limiter=None,
        retry_policy=RetryPolicy(initial_backoff=0.0),
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    ) as client:
        some_id = "0b6b5b3e-1f0e-4b87-9a8b-3f1f0c7b5e2a"
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "GET": lambda: client.invoices.retrieve(some_id),
            "POST": lambda: client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            ),
            "COMMIT": lambda: client.coin_withdrawals.commit(some_id),  # its own advice
        }
        with pytest.raises(CryptopayError) as caught:
            await calls[call]()
    return caught.value


@pytest.mark.parametrize(
    ("failure", "handler", "for_post"), FAILURES, ids=[row[0] for row in FAILURES]
)
async def test_decision_table(failure: str, handler: Handler, for_post: bool) -> None:
    read = await failure_of(handler, "GET")
    assert read.maybe_processed is False  # a read never changes anything
    write = await failure_of(handler, "POST")
    assert write.maybe_processed is for_post
    if isinstance(write, APIResponseValidationError):  # accepted: certainly processed
        assert "it was processed: do not send it again" in str(write)
    elif for_post:
        assert "may have been processed" in str(write)
        assert "pass custom_id to make such a call retry-safe" in str(write)
    else:
        assert "may have been processed" not in str(write)


@pytest.mark.parametrize(
    "handler",
    [raising(httpx.ReadTimeout), answering(500), raising(httpx.RemoteProtocolError)],
    ids=["read timeout", "500", "dropped"],
)
async def test_a_commit_that_may_have_been_applied_says_to_check_first(handler: Handler) -> None:
    error = await failure_of(handler, "COMMIT")
    assert error.maybe_processed is True
    assert "check whether it was committed before committing again" in str(error)


async def test_the_classes_keep_their_meaning() -> None:
    timeout = await failure_of(raising(httpx.ReadTimeout), "POST")
    assert isinstance(timeout, APIConnectionError)
    status = await failure_of(answering(500), "POST")
    assert isinstance(status, APIStatusError)
    assert status.status_code == 500
    assert str(status).startswith("POST /api/invoices -> 500 x: x")
    undecodable = await failure_of(answering(201, b"[]"), "POST")
    assert isinstance(undecodable, APIResponseValidationError)


def test_errors_not_from_a_request_are_not_processed() -> None:
    assert CryptopayError("anything").maybe_processed is False


async def test_a_response_without_its_request_counts_as_maybe_processed() -> None:
    error = APIStatusError("x", response=httpx.Response(500))
    assert error.maybe_processed is True
    assert APIStatusError("x", response=json_response(404, {})).maybe_processed is False


@pytest.mark.parametrize(
    ("custom_id", "quoted"),
    [
        ("ORDER-1", "'ORDER-1'"),
        ("line\nbreak", "'line\\nbreak'"),
        ("x" * 500, "'" + "x" * 55 + "...'"),
    ],
    ids=["plain", "newline", "huge"],
)
def test_custom_ids_are_quoted_visibly_and_bounded(custom_id: str, quoted: str) -> None:
    assert shown(custom_id) == quoted
