"""RedisTokenBucket on a real redis-server, in one process: several bucket objects on one
name stand for several processes (each has its own queue, like a process has).

Time comes from Redis (``TIME``), so these tests run on the real clock with a period of
one or two seconds and rates scaled to match. Several processes for real, the emulator,
clock offsets and a Redis restart are in ``test_redis_fleet.py``.
"""

from __future__ import annotations

import itertools
import logging
import random
import uuid
from contextlib import AsyncExitStack

import anyio
import anyio.lowlevel
import coredis
import httpx
import pytest
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay, RateLimiterUnavailableError
from cryptopay_async.ratelimit import RedisTokenBucket, fleet_bucket_name
from tests.ratelimit.test_token_bucket import worst_window
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio


def bucket(
    url: str,
    name: str | None = None,
    *,
    rate: int = 20,
    period: float = 1.0,
    margin: float = 0.1,
    burst: int | None = None,
    timeout: float = 5.0,
) -> RedisTokenBucket:
    """A bucket on a scaled clock: 20 per second unless told otherwise."""
    return RedisTokenBucket(
        url,
        name=name or f"test-{uuid.uuid4().hex}",
        rate=rate,
        period=period,
        margin=margin,
        burst=burst,
        timeout=timeout,
    )


def ideal_schedule(
    count: int, *, rate: int, period: float, margin: float, burst: int
) -> list[float]:
    """The earliest instants the two rules allow for ``count`` callers all waiting at 0."""
    interval = period / rate
    times: list[float] = []
    tat = 0.0
    for n in range(count):
        at = max(0.0, tat - (burst - 1) * interval)
        if n >= rate:
            at = max(at, times[n - rate] + period + margin)
        times.append(at)
        tat = max(tat, at) + interval
    return times


async def grant_times(buckets: list[RedisTokenBucket], callers: int) -> list[float]:
    """``callers`` tasks spread over ``buckets``; the clock time of every grant."""
    granted: list[float] = []

    async def caller(limiter: RedisTokenBucket) -> None:
        await limiter.acquire()
        granted.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for limiter, _ in zip(itertools.cycle(buckets), range(callers), strict=False):
            tg.start_soon(caller, limiter)
    return granted


@pytest.mark.parametrize(("processes", "burst"), [(1, None), (3, 1), (4, 5)])
async def test_no_window_holds_more_than_rate_and_the_full_rate_is_sustained(
    redis_url: str, processes: int, burst: int | None
) -> None:
    name = f"window-{uuid.uuid4().hex}"
    buckets = [bucket(redis_url, name, burst=burst) for _ in range(processes)]
    async with AsyncExitStack() as stack:
        for limiter in buckets:
            await stack.enter_async_context(limiter)
        granted = sorted(await grant_times(buckets, 50))
    assert len(granted) == 50
    assert worst_window(granted, 1.0) <= 20
    # Saturated, the last grant comes no later than the rules allow (plus round trips).
    fastest = ideal_schedule(50, rate=20, period=1.0, margin=0.1, burst=buckets[0].burst)
    assert granted[-1] - granted[0] <= fastest[-1] + 0.3


async def test_processes_get_equal_shares_when_all_are_saturated(redis_url: str) -> None:
    name = f"share-{uuid.uuid4().hex}"
    first, second = bucket(redis_url, name, burst=1), bucket(redis_url, name, burst=1)
    counts = {"first": 0, "second": 0}

    async def drain(limiter: RedisTokenBucket, label: str) -> None:
        async def one() -> None:
            await limiter.acquire()
            counts[label] += 1

        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(one)

    async with first, second:
        with anyio.move_on_after(1.5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain, first, "first")
                tg.start_soon(drain, second, "second")
    assert 10 <= counts["first"] + counts["second"] <= 40
    assert abs(counts["first"] - counts["second"]) <= 2


async def test_callers_of_one_process_go_in_arrival_order(redis_url: str) -> None:
    limiter = bucket(redis_url, rate=50, burst=1)
    order: list[int] = []

    async def caller(index: int) -> None:
        await limiter.acquire()
        order.append(index)

    async with limiter, anyio.create_task_group() as tg:
        for index in range(30):
            tg.start_soon(caller, index)
            await anyio.lowlevel.checkpoint()  # queued before the next one starts
    assert order == list(range(30))


async def test_a_pause_in_one_process_holds_the_next_reservation_of_every_other(
    redis_url: str,
) -> None:
    name = f"pause-{uuid.uuid4().hex}"
    pausing, other = bucket(redis_url, name), bucket(redis_url, name)
    async with pausing, other:
        await other.acquire()
        started = anyio.current_time()
        pausing.pause(1.0)
        await anyio.sleep(0.05)  # the pause is written to Redis in the background
        await other.acquire()
        held = anyio.current_time() - started
        await pausing.acquire()
        held_here = anyio.current_time() - started
    assert 0.95 <= held < 1.5
    assert 0.95 <= held_here < 1.5


async def test_a_pause_never_shortens_a_longer_one(redis_url: str) -> None:
    limiter = bucket(redis_url)
    async with limiter:
        started = anyio.current_time()
        limiter.pause(0.8)
        limiter.pause(0.1)
        await limiter.acquire()
    assert anyio.current_time() - started >= 0.75


async def test_a_cancellation_storm_never_lets_a_window_exceed_the_rate(
    redis_url: str,
) -> None:
    name = f"storm-{uuid.uuid4().hex}"
    buckets = [bucket(redis_url, name, rate=20, period=1.0) for _ in range(2)]
    rng = random.Random(7)
    granted: list[float] = []
    cancelled = 0

    async def caller(limiter: RedisTokenBucket, patience: float) -> None:
        nonlocal cancelled
        with anyio.move_on_after(patience) as scope:
            await limiter.acquire()
            granted.append(anyio.current_time())
        cancelled += scope.cancelled_caught

    async with buckets[0], buckets[1], anyio.create_task_group() as tg:
        for index in range(300):
            patience = rng.choice([0.0, 0.001, 0.01, 0.05, 0.3, 1.0, 3.0])
            tg.start_soon(caller, buckets[index % 2], patience)
            if index % 25 == 0:
                await anyio.sleep(0.05)
    assert cancelled > 100
    assert granted
    assert worst_window(sorted(granted), 1.0) <= 20
    assert all(b.waiting == 0 for b in buckets)
    # Afterwards the bucket still serves at the full pace.
    async with buckets[0]:
        after = sorted(await grant_times([buckets[0]], 25))
    assert after[-1] - after[0] < 2.5


async def test_callers_cancelled_while_queued_hold_nobody_up(redis_url: str) -> None:
    limiter = bucket(redis_url, rate=5, burst=1)
    async with limiter:
        await limiter.acquire()
        with anyio.move_on_after(0.05):
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(limiter.acquire)
        assert limiter.waiting == 0
        started = anyio.current_time()
        await limiter.acquire()
    # One reservation (the head's) was spent: this caller waits at most two intervals.
    assert anyio.current_time() - started < 2 * 0.2 + 0.1


async def test_unreachable_redis_raises_a_typed_error_before_any_request() -> None:
    limiter = bucket(f"redis://127.0.0.1:{_closed_port()}/0", timeout=1.0)
    async with limiter:
        with anyio.fail_after(5), pytest.raises(RateLimiterUnavailableError, match="no request"):
            await limiter.acquire()
        assert limiter.waiting == 0


async def test_a_silent_redis_times_out_instead_of_hanging() -> None:
    with _silent_listener() as port:
        limiter = bucket(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        async with limiter:
            with anyio.fail_after(5), pytest.raises(RateLimiterUnavailableError):
                await limiter.acquire()


async def test_a_pause_that_cannot_reach_redis_is_logged_and_still_holds_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = bucket(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="cryptopay_async.ratelimit"):
        async with limiter:
            limiter.pause(0.2)
            await anyio.sleep(0.1)
    assert "the pause did not reach Redis" in caplog.text


async def test_using_it_without_entering_says_how() -> None:
    limiter = bucket("redis://127.0.0.1:1/0")
    with pytest.raises(RuntimeError, match="async with"):
        await limiter.acquire()


async def test_a_restarted_empty_redis_holds_grants_until_a_window_after_its_start() -> None:
    server = RedisServer()
    server.start()
    try:
        name = f"restart-{uuid.uuid4().hex}"
        limiter = bucket(server.url, name, rate=10, period=1.5, margin=0.1)
        async with limiter:
            granted = await grant_times([limiter], 10)  # the whole window at once
            server.stop()
            server.start()  # empty: the ten grants above are forgotten by Redis
            granted += await grant_times([limiter], 10)
    finally:
        server.stop()
    assert worst_window(sorted(granted), 1.5) <= 10


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_redis_asyncio_client_works_too(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        limiter = RedisTokenBucket(client, name=f"redis-py-{uuid.uuid4().hex}", rate=10, period=1.0)
        async with limiter:
            granted = sorted(await grant_times([limiter], 25))
    finally:
        await client.aclose()
    assert worst_window(granted, 1.0) <= 10
    assert granted[-1] - granted[0] >= 2.0


async def test_a_coredis_client_of_the_application_is_shared(redis_url: str) -> None:
    async with coredis.Redis.from_url(redis_url) as client:
        limiter = RedisTokenBucket(client, name=f"coredis-{uuid.uuid4().hex}", rate=10, period=1.0)
        async with limiter:
            await limiter.acquire()
        assert await client.ping()  # still open: the application's client stays its own


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "name must be"),
        ({"name": "a b"}, "whitespace"),
        ({"name": "a{b}"}, "braces"),
        ({"name": "x" * 201}, "name must be"),
        ({"rate": 0}, "rate must be"),
        ({"period": -1.0}, "period must be"),
        ({"burst": 500}, "burst must be"),
        ({"margin": float("nan")}, "margin must be"),
        ({"timeout": 0}, "timeout must be"),
    ],
)
def test_bad_settings_are_refused_with_the_argument_named(
    arguments: dict[str, object], message: str
) -> None:
    settings: dict[str, object] = {"name": "ok", **arguments}
    with pytest.raises(ValueError, match=message):
        RedisTokenBucket("redis://127.0.0.1:1/0", **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", ["http://127.0.0.1/", "127.0.0.1:6379", object()])
def test_anything_but_a_redis_url_or_client_is_refused(source: object) -> None:
    with pytest.raises((ValueError, TypeError), match="redis"):
        RedisTokenBucket(source, name="x")


def test_the_repr_names_the_bucket_but_never_the_url() -> None:
    limiter = RedisTokenBucket("redis://:hunter2@127.0.0.1:1/0", name="fleet", rate=10)
    assert "hunter2" not in repr(limiter)
    assert "fleet" in repr(limiter)


async def test_redis_url_makes_the_default_limiter_a_shared_redis_bucket(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOPAY_REDIS_URL", redis_url)
    from_env = AsyncCryptopay(api_key="k_live_secret", api_secret="s")
    from_argument = AsyncCryptopay(api_key="k_live_secret", api_secret="s", redis_url=redis_url)
    for client in (from_env, from_argument):
        assert isinstance(client.rate_limiter, RedisTokenBucket)
        assert client.rate_limiter.name == fleet_bucket_name("k_live_secret")
        assert "k_live_secret" not in str(client.rate_limiter.keys)
        assert (client.rate_limiter.rate, client.rate_limiter.period) == (200, 60.0)
        async with client:
            # Entered by the client: the call waits for its slot instead of refusing (a
            # Redis started moments ago holds a 60 s bucket for a window: see reserve.lua).
            with anyio.move_on_after(0.3):
                await client.rate_limiter.acquire()
        with pytest.raises(RuntimeError, match="not entered"):
            await client.rate_limiter.acquire()  # and left when it closed


def test_redis_url_and_an_explicit_limiter_conflict() -> None:
    with pytest.raises(ValueError, match="either rate_limiter or redis_url"):
        AsyncCryptopay(api_key="k", api_secret="s", rate_limiter=None, redis_url="redis://x")


async def test_a_client_enters_its_limiter_and_passes_requests_through_it(
    redis_url: str,
) -> None:
    limiter = bucket(redis_url, rate=3, period=1.0, margin=0.05)
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(anyio.current_time())
        return httpx.Response(200, json={"data": {"BTC": {}}})

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
        AsyncCryptopay(
            api_key="k",
            api_secret="s",
            base_url="http://127.0.0.1:9",
            rate_limiter=limiter,
            http_client=http,
        ) as client,
    ):
        for _ in range(4):
            await client.request("GET", "/api/rates")
    assert len(seen) == 4
    assert seen[3] - seen[0] >= 1.0  # the fourth waited for the window


def _closed_port() -> int:
    from cryptopay_async.testing._server import free_port

    return free_port()


class _silent_listener:
    """A socket that accepts connections and never answers: Redis hung."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@given(st.text(max_size=250))
@settings(max_examples=60, deadline=None)
def test_any_name_is_refused_or_kept_verbatim_inside_one_hash_tag(name: str) -> None:
    try:
        limiter = RedisTokenBucket("redis://127.0.0.1:1/0", name=name)
    except ValueError:
        return
    assert limiter.keys == [
        f"cryptopay:ratelimit:{{{name}}}:state",
        f"cryptopay:ratelimit:{{{name}}}:grants",
    ]
    assert all(ch.isprintable() and not ch.isspace() and ch not in "{}" for ch in name)


@pytest.mark.parametrize("name", ["..", "a/b", "?x=1", "key-" + "f" * 32, "é"])
def test_odd_but_harmless_names_are_accepted(name: str) -> None:
    assert RedisTokenBucket("redis://127.0.0.1:1/0", name=name).name == name


async def test_callers_queued_behind_a_hung_redis_fail_together_within_one_timeout() -> None:
    failures: list[float] = []
    with _silent_listener() as port:
        limiter = bucket(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        started = anyio.current_time()

        async def caller() -> None:
            with pytest.raises(RateLimiterUnavailableError):
                await limiter.acquire()
            failures.append(anyio.current_time() - started)

        async with limiter, anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(caller)
    assert len(failures) == 20
    assert max(failures) < 1.5  # not 20 timeouts of 0.5 s in turn
