from __future__ import annotations

import httpx
import pytest
import trio
import trio.testing

from cryptopay_async import InternalServerError, RetryPolicy
from cryptopay_async._extensions import SENT, may_have_been_sent
from cryptopay_async.middleware import RetryMiddleware
from tests.support import (
    Recorder,
    json_response,
    recorded_client,
    signature_is_valid,
)

NO_WAIT = RetryPolicy(max_retries=2, initial_backoff=0)

UNKNOWN = None  # a chain without the SDK's transport step records nothing

# (failure, what the transport recorded as SENT, retried for GET, retried for POST/PATCH):
# the table of docs/guides/errors.md. A POST is repeated only when the record says nothing was sent,
# whatever the exception's class (a transport may call a disconnect a connect timeout).
DECISIONS: list[tuple[object, bool | None, bool, bool]] = [
    (httpx.ConnectError("refused"), False, True, True),
    (httpx.ConnectTimeout("no answer to SYN"), False, True, True),
    (httpx.PoolTimeout("pool busy"), False, True, True),
    (httpx.ConnectTimeout("mislabelled disconnect"), True, True, False),
    (httpx.ConnectError("no record"), UNKNOWN, True, False),
    (httpx.ReadTimeout("answer lost"), True, True, False),
    (httpx.WriteTimeout("half sent"), True, True, False),
    (httpx.ReadError("reset by peer"), True, True, False),
    (httpx.RemoteProtocolError("closed mid-answer"), True, True, False),
    (httpx.UnsupportedProtocol("ftp://"), False, False, False),
    (429, True, True, True),
    (503, True, True, True),
    (500, True, True, False),
    (502, True, True, False),
    (504, True, True, False),
    (400, True, False, False),
    (401, True, False, False),
    (404, True, False, False),
    (409, True, False, False),
    (422, True, False, False),
]


def failing(failure: object, sent: bool | None, attempts: list[int]):  # type: ignore[no-untyped-def]
    async def call_next(request: httpx.Request) -> httpx.Response:
        attempts.append(request.extensions["cryptopay_async.attempt"])
        assert SENT not in request.extensions  # every attempt starts without a record
        if sent is not None:
            request.extensions[SENT] = sent
        if isinstance(failure, Exception):
            raise failure
        assert isinstance(failure, int)
        return httpx.Response(failure, request=request)

    return call_next


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
@pytest.mark.parametrize(
    ("failure", "sent", "for_get", "for_unsafe"),
    DECISIONS,
    ids=[f"{d[0]}-sent={d[1]}" for d in DECISIONS],
)
async def test_decision_table(
    method: str, failure: object, sent: bool | None, for_get: bool, for_unsafe: bool
) -> None:
    retried = for_get if method == "GET" else for_unsafe
    attempts: list[int] = []
    request = httpx.Request(method, "https://h/api/coin_withdrawals")
    step = RetryMiddleware(NO_WAIT)
    if isinstance(failure, Exception):
        with pytest.raises(type(failure)):
            await step(request, failing(failure, sent, attempts))
        outcome: httpx.Response | Exception = failure
    else:
        outcome = await step(request, failing(failure, sent, attempts))
        assert outcome.status_code == failure
    assert attempts == ([1, 2, 3] if retried else [1])
    if isinstance(failure, Exception):
        # Whether the record says "maybe sent" decides a POST, never the error's class.
        assert may_have_been_sent(request) == (sent is not False)


@pytest.mark.anyio
async def test_success_after_a_retry_returns_the_good_answer() -> None:
    answers = iter([503, 503, 200])

    async def call_next(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), request=request)

    response = await RetryMiddleware(NO_WAIT)(httpx.Request("POST", "https://h/x"), call_next)
    assert response.status_code == 200


def run_with_virtual_clock(policy: RetryPolicy, answer: httpx.Response) -> tuple[float, int]:
    """Seconds of virtual time a request spent and how many attempts it made."""
    attempts: list[int] = []

    async def call_next(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return answer

    async def main() -> float:
        start = trio.current_time()
        await RetryMiddleware(policy)(httpx.Request("GET", "https://h/x"), call_next)
        return trio.current_time() - start

    elapsed = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return elapsed, len(attempts)


def test_retry_after_is_waited_exactly() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after=60)
    elapsed, attempts = run_with_virtual_clock(
        policy, httpx.Response(429, headers={"Retry-After": "12"})
    )
    assert attempts == 3
    assert elapsed == pytest.approx(24.0)


def test_retry_after_beyond_the_cap_goes_to_the_caller_at_once() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after=60)
    elapsed, attempts = run_with_virtual_clock(
        policy, httpx.Response(503, headers={"Retry-After": "3600"})
    )
    assert (elapsed, attempts) == (0.0, 1)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, jitter=0.25)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)]:
        delays = [policy.backoff(retry) for _ in range(200)]
        assert all(0.75 * ceiling <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
    elapsed, attempts = run_with_virtual_clock(
        RetryPolicy(max_retries=3, initial_backoff=1.0, jitter=0), httpx.Response(500)
    )
    assert elapsed == pytest.approx(7.0)
    assert attempts == 4


@pytest.mark.parametrize("retry", [1023, 1024, 5000])
def test_backoff_stays_at_its_cap_however_many_retries(retry: int) -> None:
    # 2.0 ** 1024 raised OverflowError: a policy with many retries failed untyped.
    policy = RetryPolicy(max_retries=10_000, initial_backoff=0.5, max_backoff=8.0, jitter=0)
    assert policy.backoff(retry) == 8.0


@pytest.mark.parametrize("bad", [{"max_retries": -1}, {"jitter": 1.5}, {"initial_backoff": -1}])
def test_policy_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_every_attempt_is_signed_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(1_700_000_000, 1_700_000_100, 7))
    monkeypatch.setattr("cryptopay_async._signing.time.time", lambda: float(next(clock)))
    recorder = Recorder(lambda r: json_response(503, {}))
    async with recorded_client(recorder) as client:
        with pytest.raises(Exception, match="503"):
            await client.invoices.create(price_amount=1, price_currency="EUR", pay_currency="BTC")
    dates = [r.headers["date"] for r in recorder.requests]
    assert len(dates) == 3
    assert len(set(dates)) == 3
    assert all(signature_is_valid(r) for r in recorder.requests)
    assert len({r.content for r in recorder.requests}) == 1


@pytest.mark.anyio
async def test_a_500_on_a_withdrawal_is_never_repeated() -> None:
    recorder = Recorder(lambda r: json_response(500, {}))
    async with recorded_client(recorder) as client:
        with pytest.raises(InternalServerError):
            await client.request("POST", "/api/coin_withdrawals", json={"charged_amount": "10"})
    assert len(recorder.requests) == 1
