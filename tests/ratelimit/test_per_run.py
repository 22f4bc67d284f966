"""The default limiter is one bucket per API key and event loop run, never shared across runs.

Threads each running ``asyncio.run`` once shared one bucket: waiters were woken through
another thread's loop (both hung after 38 of 120 calls) and 36 requests went out in one
1-second window against a rate of 20. Consecutive ``trio.run`` calls carried absolute
times into a clock with another offset (67,000 s ahead on the fourth run: a hang).
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
import trio

from cryptopay_async import AsyncCryptopay, RetryPolicy
from cryptopay_async import ratelimit as ratelimit_module
from cryptopay_async.ratelimit import PerRunLimiter, TokenBucket, shared_limiter
from tests.fake_server import FakeCryptopay, Receive, Send
from tests.support import API_KEY, API_SECRET, serve_asgi

RATE, PERIOD = 20, 1.0
CALLS_PER_THREAD = 60


def most_in_any_window(times: list[float], period: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + period) - i for i, t in enumerate(ordered)), default=0
    )


class Timed:
    """Wraps the fake server: the arrival time of every request, by path."""

    def __init__(self) -> None:
        self.app = FakeCryptopay()
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.arrivals.append((time.monotonic(), scope["path"]))
        await self.app(scope, receive, send)


@pytest.fixture
def small_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default limiter scaled down to 20 per second, so a test takes seconds."""
    monkeypatch.setattr(ratelimit_module, "DEFAULT_RATE", RATE)
    monkeypatch.setattr(ratelimit_module, "DEFAULT_PERIOD", PERIOD)
    # A margin well above loopback jitter under load keeps the promise on the server clock.
    monkeypatch.setattr(ratelimit_module, "DEFAULT_MARGIN", 0.3)


def test_threads_each_running_asyncio_get_their_own_bucket(small_default: None) -> None:
    server = Timed()
    buckets: dict[str, object] = {}
    done: dict[str, int] = {}
    errors: list[BaseException] = []

    async def worker(name: str, url: str) -> None:
        async with AsyncCryptopay(
            api_key=API_KEY,
            api_secret=API_SECRET,
            base_url=url,
            retry_policy=RetryPolicy(max_retries=0),
        ) as client:
            limiter = client.rate_limiter
            assert isinstance(limiter, PerRunLimiter)
            buckets[name] = limiter.current()
            async with asyncio.timeout(30):  # a hang fails the test, never the suite
                for i in range(CALLS_PER_THREAD):
                    await client.invoices.retrieve(f"{name}-{i}")
                    done[name] = i + 1

    def run(name: str, url: str) -> None:
        try:
            asyncio.run(worker(name, url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with serve_asgi(server) as url:
        threads = [threading.Thread(target=run, args=(name, url)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert done == {"a": CALLS_PER_THREAD, "b": CALLS_PER_THREAD}  # no hang
    assert buckets["a"] is not buckets["b"]
    for name in ("a", "b"):
        times = [t for t, path in server.arrivals if path.split("/")[-1].startswith(f"{name}-")]
        assert len(times) == CALLS_PER_THREAD
        # Each run's bucket keeps its promise on the server's clock: no over-grant.
        assert most_in_any_window(times, PERIOD) <= RATE


def test_consecutive_trio_runs_each_start_a_fresh_bucket() -> None:
    """Trio's clock has a different offset in every run: carried-over times hung here."""
    seen: list[object] = []

    async def main() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"data": {}}))
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncCryptopay(
                api_key=API_KEY, api_secret=API_SECRET, base_url="https://h", http_client=http
            ) as client,
        ):
            assert client.rate_limiter is shared_limiter(API_KEY)
            with trio.fail_after(10):
                for _ in range(60):  # 240 over four runs: more than one window's 200
                    await client.request("GET", "/api/rates")
            limiter = client.rate_limiter
            assert isinstance(limiter, PerRunLimiter)
            seen.append(limiter.current())

    for _ in range(4):
        trio.run(main)
    assert len({id(bucket) for bucket in seen}) == 4


def test_a_bucket_used_from_another_thread_s_loop_fails_loudly() -> None:
    bucket = TokenBucket(rate=5, period=1.0)

    async def use() -> None:
        await bucket.acquire()
        bucket.pause(0.0)

    asyncio.run(use())
    outcome: list[BaseException | None] = []
    thread = threading.Thread(target=lambda: outcome.append(_raised(lambda: asyncio.run(use()))))
    thread.start()
    thread.join(timeout=10)
    assert isinstance(outcome[0], RuntimeError)
    assert "another event loop run" in str(outcome[0])
    with pytest.raises(RuntimeError, match="another event loop run"):
        trio.run(use)  # a later run, another library: same answer


def _raised(run: Any) -> BaseException | None:
    try:
        run()
    except BaseException as exc:
        return exc
    return None


@pytest.mark.anyio
async def test_one_bucket_per_key_within_a_run() -> None:
    a, b = shared_limiter("key-a"), shared_limiter("key-b")
    assert a is shared_limiter("key-a")
    assert a.current() is a.current()
    assert a.current() is not b.current()
    bucket = a.current()
    assert isinstance(bucket, TokenBucket)
    assert (bucket.rate, bucket.period, bucket.margin) == (200, 60.0, 0.25)
    assert "key-a" not in repr(a)  # named by the key's fingerprint, never the key
    await a.acquire()
    a.pause(0.0)
    assert bucket.in_window() == 1


def test_the_first_use_binds_even_when_two_threads_race() -> None:
    """Eight threads' loops reach a fresh bucket at once: exactly one of them wins it."""
    bucket = TokenBucket(rate=100, period=1.0)
    start = threading.Barrier(8)
    results: list[BaseException | None] = []

    async def use() -> None:
        start.wait()
        await bucket.acquire()

    threads = [
        threading.Thread(target=lambda: results.append(_raised(lambda: anyio.run(use))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results.count(None) == 1
    assert all(isinstance(r, RuntimeError) for r in results if r is not None)
    assert len(bucket._recent) == 1
