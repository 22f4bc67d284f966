"""A 429's pause is capped by the retry policy, and a caller can always leave the limiter.

One answer with ``Retry-After: 86400`` (or a date a day ahead) paused the key for a day,
beyond every timeout. Run under trio's virtual clock: a day would pass instantly, so the
assertions are on the clock, not on wall time.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from cryptopay_async import AsyncCryptopay, RateLimitError, RetryPolicy
from cryptopay_async.ratelimit import TokenBucket
from tests.support import API_KEY, API_SECRET, json_response

A_DAY = 86400


def day_ahead_date() -> str:
    return email.utils.formatdate(time.time() + A_DAY, usegmt=True)


def client_over(http: httpx.AsyncClient, bucket: TokenBucket, **options: Any) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url="https://h",
        http_client=http,
        rate_limiter=bucket,
        **options,
    )


def first_429_then_ok(retry_after: str) -> httpx.MockTransport:
    answers = iter([httpx.Response(429, headers={"Retry-After": retry_after})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or json_response(200, {"data": {}})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("retry_after", [str(A_DAY), "1e300", "day-ahead-date"])
@pytest.mark.parametrize("max_retry_after", [60.0, 5.0])
def test_a_huge_retry_after_pauses_the_key_no_longer_than_the_policy_cap(
    retry_after: str, max_retry_after: float
) -> None:
    header = day_ahead_date() if retry_after == "day-ahead-date" else retry_after
    bucket = TokenBucket(rate=100, period=1.0)
    waited: list[float] = []

    async def main() -> None:
        policy = RetryPolicy(max_retry_after=max_retry_after)
        async with (
            httpx.AsyncClient(transport=first_429_then_ok(header)) as http,
            client_over(http, bucket, retry_policy=policy) as client,
        ):
            with pytest.raises(RateLimitError):  # beyond the cap: to the caller at once
                await client.request("GET", "/api/rates")
            start = trio.current_time()
            await client.request("GET", "/api/rates")
            waited.append(trio.current_time() - start)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert waited[0] == pytest.approx(max_retry_after, abs=0.01)


def test_cancelling_a_caller_ends_its_wait_in_the_limiter_and_takes_no_slot() -> None:
    bucket = TokenBucket(rate=100, period=1.0)

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=first_429_then_ok(str(A_DAY))) as http,
            client_over(http, bucket) as client,
        ):
            with pytest.raises(RateLimitError):
                await client.request("GET", "/api/rates")
            start = trio.current_time()
            with trio.move_on_after(5) as scope:  # the caller's own deadline
                await client.request("GET", "/api/rates")
            assert scope.cancelled_caught
            assert trio.current_time() - start == pytest.approx(5.0)
            assert bucket.waiting == 0
            assert len(bucket._recent) == 1  # the 429 attempt's grant; the cancelled took none

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_a_long_storm_of_429s_without_retry_after_keeps_pausing_at_the_cap() -> None:
    # The pause doubled with each consecutive 429 as 2.0 ** n: after 1024 of them (a batch
    # of concurrent callers in a long outage gets there) it raised OverflowError untyped.
    storm = 1100
    bucket = TokenBucket(rate=100_000, period=1.0)
    paused: list[float] = []

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(429)))
        async with http, client_over(http, bucket, max_retries=0) as client:
            for _ in range(storm):
                with pytest.raises(RateLimitError):
                    await client.request("GET", "/api/rates")
                paused.append(bucket._paused_until - trio.current_time())

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(paused) == storm
    assert paused[-1] == pytest.approx(60.0)


class SlowToLeave(httpx.AsyncBaseTransport):
    """The second request takes 0.9 s to reach the server (a busy loop, a burst); the
    server counts each request when it arrives."""

    def __init__(self) -> None:
        self.entered = 0
        self.arrivals: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.entered += 1
        await trio.sleep(0.9 if self.entered == 2 else 0.0)
        self.arrivals.append(trio.current_time())
        return json_response(200, {"data": {}})


def test_a_slot_counts_from_its_answer_so_a_late_arrival_never_crowds_a_window() -> None:
    bucket = TokenBucket(rate=2, period=1.0)  # no margin: only the answer's time protects
    transport = SlowToLeave()

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=transport) as http,
            client_over(http, bucket, max_retries=0) as client,
            trio.open_nursery() as nursery,
        ):
            for _ in range(4):
                nursery.start_soon(client.request, "GET", "/api/rates")

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    arrivals = sorted(transport.arrivals)
    fullest = max(sum(1 for a in arrivals if t <= a < t + 1.0) for t in arrivals)
    # Counted from the grant, the fourth request went at 1.0 s and arrived beside the
    # late second one (0.9 s) and the third (1.0 s): three in one window.
    assert (len(arrivals), fullest) == (4, 2), arrivals
