"""The limiter's promise, checked under trio's virtual clock with thousands of tasks."""

from __future__ import annotations

import bisect
import random
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
import trio
import trio.testing

from cryptopay_async.ratelimit import RateLimitMiddleware, TokenBucket


def worst_window(times: list[float], period: float) -> int:
    """The most grants in any half-open window ``[t, t + period)``."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + period) - i for i, t in enumerate(ordered)), default=0
    )


def run_virtual(main: Callable[[], Awaitable[None]], *, start: float = 0.0) -> None:
    clock = trio.testing.MockClock(autojump_threshold=0)
    clock.jump(start)
    trio.run(main, clock=clock)


def saturate(bucket: TokenBucket, arrivals: list[float]) -> list[float]:
    """Start one task per arrival time; return the clock time of every grant."""
    granted: list[float] = []

    async def caller(at: float) -> None:
        await trio.sleep_until(at)
        await bucket.acquire()
        granted.append(trio.current_time())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for at in arrivals:
                nursery.start_soon(caller, at)

    run_virtual(main)
    return granted


@pytest.mark.parametrize("burst", [1, 7, 50, 199, None])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_sliding_window_ever_holds_more_than_rate(burst: int | None, seed: int) -> None:
    rng = random.Random(seed)
    # 3,000 callers: quiet spells, clusters and a steady trickle, well above the cap overall.
    arrivals = [rng.uniform(0, 600) for _ in range(1500)]
    arrivals += [rng.choice([0.0, 59.9, 60.0, 300.0]) + rng.uniform(0, 0.5) for _ in range(1500)]
    bucket = TokenBucket(rate=200, period=60.0, burst=burst)
    granted = saturate(bucket, arrivals)
    assert len(granted) == len(arrivals)
    assert worst_window(granted, 60.0) <= 200


@pytest.mark.parametrize("burst", [1, 20, None])
def test_sustains_the_full_rate_under_saturation(burst: int | None) -> None:
    bucket = TokenBucket(rate=200, period=60.0, burst=burst)
    granted = sorted(saturate(bucket, [0.0] * 2000))
    first_burst = bucket.burst
    per_minute = (len(granted) - first_burst) / (granted[-1] - granted[0]) * 60.0
    assert per_minute >= 0.99 * 200
    assert worst_window(granted, 60.0) == 200


def test_callers_are_served_in_arrival_order() -> None:
    bucket = TokenBucket(rate=10, period=1.0, burst=1)
    order: list[int] = []

    async def caller(index: int) -> None:
        await trio.sleep(index * 0.001)
        await bucket.acquire()
        order.append(index)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index in range(300):
                nursery.start_soon(caller, index)

    run_virtual(main)
    assert order == list(range(300))


def test_a_cancelled_waiter_takes_nothing_and_holds_nobody_up() -> None:
    bucket = TokenBucket(rate=10, period=1.0, burst=1)
    granted: dict[int, float] = {}
    scopes: dict[int, trio.CancelScope] = {}

    async def caller(index: int) -> None:
        await trio.sleep(index * 1e-6)  # fix the queue order
        with trio.CancelScope() as scope:
            scopes[index] = scope
            await bucket.acquire()
            granted[index] = trio.current_time()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index in range(40):
                nursery.start_soon(caller, index)
            await trio.sleep(0.05)  # caller 0 has its slot; 1 sleeps at the head; rest queue
            for index in range(1, 40, 2):
                scopes[index].cancel()  # the sleeping head and every other queued caller

    run_virtual(main)
    survivors = sorted(granted)
    assert survivors == list(range(0, 40, 2))
    # The 20 survivors go one interval apart, exactly as if the others never queued.
    times = [granted[i] for i in survivors]
    assert times == pytest.approx([i * 0.1 for i in range(20)])
    assert bucket.waiting == 0
    assert len(bucket._recent) == 10  # full window of the last 10 grants, nothing phantom


def test_pause_holds_everybody_queued_or_arriving() -> None:
    bucket = TokenBucket(rate=100, period=1.0, burst=1)
    granted: list[float] = []

    async def caller(at: float) -> None:
        await trio.sleep_until(at)
        await bucket.acquire()
        granted.append(trio.current_time())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index in range(50):
                nursery.start_soon(caller, index * 0.2)
            await trio.sleep_until(5.0)
            bucket.pause(12.0)
            bucket.pause(3.0)  # a shorter pause never shortens the first

    run_virtual(main)
    assert not [t for t in granted if 5.0 < t < 17.0]
    assert min(t for t in granted if t >= 17.0) == pytest.approx(17.0)
    assert len(granted) == 50


def test_huge_clock_values_do_not_trap_waiters_in_rounding_loops() -> None:
    """At 1e12 s floats move in 0.1 ms steps; waits of 0.3 ms must still end."""
    bucket = TokenBucket(rate=3, period=0.001, burst=1)
    granted: list[float] = []

    async def caller() -> None:
        await bucket.acquire()
        granted.append(trio.current_time())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(300):
                nursery.start_soon(caller)

    run_virtual(main, start=1e12)
    assert len(granted) == 300
    assert worst_window(granted, 0.001) <= 3


@pytest.mark.anyio
async def test_real_clock_under_both_backends() -> None:
    bucket = TokenBucket(rate=5, period=0.2, burst=2)
    granted: list[float] = []

    async def caller() -> None:
        await bucket.acquire()
        granted.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(caller)
    assert len(granted) == 12
    assert worst_window(granted, 0.2) <= 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": 2.5}, "rate"),
        ({"period": 0}, "period"),
        ({"period": float("inf")}, "period"),
        ({"rate": 10, "burst": 11}, "burst"),
        ({"burst": 0}, "burst"),
        ({"margin": -1}, "margin"),
        ({"margin": float("nan")}, "margin"),
    ],
)
def test_nonsense_settings_are_refused(args: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(**args)  # type: ignore[arg-type]


def test_a_margin_keeps_every_grant_in_the_window_longer() -> None:
    bucket = TokenBucket(rate=200, period=60.0, margin=0.25)
    granted = sorted(saturate(bucket, [0.0] * 1000))
    assert worst_window(granted, 60.25) == 200  # no window of period + margin holds more
    assert granted[200] == pytest.approx(60.25)
    per_minute = (len(granted) - 200) / (granted[-1] - granted[0]) * 60.0
    assert per_minute >= 0.99 * 200


def test_a_429_pauses_the_limiter_for_retry_after_or_a_growing_backoff() -> None:
    bucket = TokenBucket(rate=100, period=1.0)
    step = RateLimitMiddleware(bucket, initial_pause=1.0, max_pause=4.0)
    answers: list[httpx.Response] = []
    pauses: list[float] = []

    async def call_next(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def main() -> None:
        request = httpx.Request("GET", "https://h/x")
        for response in [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429),
            httpx.Response(429),
            httpx.Response(429),
            httpx.Response(200),
            httpx.Response(429),
        ]:
            answers.append(response)
            await step(request, call_next)
            pauses.append(bucket.next_free_at() - trio.current_time())

    run_virtual(main)
    # Retry-After when given; otherwise 1 s doubling per consecutive 429, capped at 4 s,
    # and back to 1 s once a non-429 answer breaks the streak.
    assert pauses[:4] == pytest.approx([3.0, 2.0, 4.0, 4.0])
    assert pauses[4] <= 0.01
    assert pauses[5] == pytest.approx(1.0)
