"""The limiter: overhead per acquire, and how close a batch gets to the bound at the cap.

Overhead is measured on asyncio with the limiter never binding, beside a bare
checkpoint. Precision runs a 1,000-call batch under trio's virtual clock: under a strict
200-per-60 s window, call k cannot go before k // 200 windows, so 1,000 calls need
4 windows (240 s, plus the margin per window).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import anyio
import anyio.lowlevel
import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ratios, save, summary, table, verdict

from cryptopay_async.ratelimit import DEFAULT_MARGIN, TokenBucket

REPETITIONS = 7
CALLS = 20_000


async def overhead() -> dict[str, list[float]]:
    import time

    results: dict[str, list[float]] = {"TokenBucket.acquire()": [], "anyio checkpoint": []}
    bucket = TokenBucket(rate=10**9, period=1.0)
    for _ in range(REPETITIONS):
        started = time.perf_counter()
        for _ in range(CALLS):
            await bucket.acquire()
        results["TokenBucket.acquire()"].append((time.perf_counter() - started) / CALLS * 1e6)
        started = time.perf_counter()
        for _ in range(CALLS):
            await anyio.lowlevel.checkpoint()
        results["anyio checkpoint"].append((time.perf_counter() - started) / CALLS * 1e6)
    return results


def batch(margin: float, calls: int = 1000, concurrency: int = 50) -> float:
    """Virtual seconds a batch of ``calls`` takes from the first grant to the last."""
    bucket = TokenBucket(rate=200, period=60.0, margin=margin)
    granted: list[float] = []
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            await bucket.acquire()
            granted.append(trio.current_time())
            await trio.sleep(0.05)  # the request itself

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return max(granted) - min(granted)


def main() -> None:
    costs = anyio.run(overhead)
    rows = [[name, summary(values, 2)] for name, values in costs.items()]
    extra = [
        a - b
        for a, b in zip(costs["TokenBucket.acquire()"], costs["anyio checkpoint"], strict=True)
    ]
    rows.append(["acquire() minus checkpoint", summary(extra, 2)])
    tables = [
        table(
            f"Limiter overhead, µs per call on asyncio, {REPETITIONS} repetitions",
            ["what", "median (min-max) µs"],
            rows,
        )
    ]
    precision_rows = []
    data: dict[str, object] = {"overhead_us": costs}
    for margin in (0.0, DEFAULT_MARGIN):
        elapsed = [batch(margin) for _ in range(3)]
        bound = (1000 - 1) // 200 * (60.0 + margin)
        within = statistics.median(ratios(elapsed, [bound] * len(elapsed)))
        precision_rows.append(
            [
                f"{margin:g} s",
                summary(elapsed, 3),
                f"{bound:g}",
                f"{(within - 1) * 100:+.3f} %",
                verdict(abs(within - 1) <= 0.01),
            ]
        )
        data[f"batch_margin_{margin:g}"] = {"elapsed": elapsed, "bound": bound}
    tables.append(
        table(
            "1,000 calls, 50 tasks, 200 per 60 s, virtual clock: first to last grant vs the bound",
            ["margin", "elapsed s, median (min-max)", "bound s", "vs bound", "within 1 %"],
            precision_rows,
        )
    )
    save("limiter", tables, data)


if __name__ == "__main__":
    main()
