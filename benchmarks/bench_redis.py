"""RedisTokenBucket: grant overhead against TokenBucket, and a fleet of processes.

Needs ``redis-server`` (the Debian package); it starts its own on a free loopback port
with persistence off and stops it after.

a. Overhead: ``acquire()`` with the limiter never binding, on asyncio and trio, beside
   the in-process ``TokenBucket``; Redis commands per acquire from the server's own
   ``commandstats`` (script calls per acquire: round trips).
b. Fleet: 1, 4 and 8 OS processes (``tests/ratelimit/fleet_worker.py``) share one bucket
   of 100 per 2 s (burst 1, margin 0.05 s), each acquiring for 3 windows; grants are
   stamped with the machine's wall clock. Reported: the sustained rate from first to
   last grant as a share of the cap (rate per period; the long-run bound is rate per
   period + margin, a short run does a little better as its first window pays no
   margin) and the most grants in any period-long window (the promise: at most rate).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for its helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ratios, save, summary, table

from cryptopay_async.ratelimit import RedisTokenBucket, TokenBucket
from tests.ratelimit.test_token_bucket import worst_window
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
REPETITIONS = 5
CALLS = 2_000
FLEET_RUNS = 3
RATE, PERIOD, MARGIN = 100, 2.0, 0.05
WINDOWS = 3


async def script_stats(bucket: RedisTokenBucket) -> tuple[int, int]:
    """EVALSHA and EVAL calls the server answered (one per round trip), and their µs."""
    info = await bucket._redis.client.info("commandstats")
    stats = [info.get(f"cmdstat_{name}", {}) for name in ("evalsha", "eval")]
    return sum(int(s.get("calls", 0)) for s in stats), sum(int(s.get("usec", 0)) for s in stats)


async def bucket_bytes(bucket: RedisTokenBucket) -> int:
    """Memory Redis reports for the bucket's two keys."""
    sizes = [await bucket._redis.client.memory_usage(key) for key in bucket.keys]
    return sum(size or 0 for size in sizes)


async def overhead(url: str) -> dict[str, list[float]]:
    """µs per acquire (never binding) for both buckets, and Redis commands per acquire."""
    results: dict[str, list[float]] = {
        "TokenBucket": [],
        "RedisTokenBucket": [],
        "trips": [],
        "server_us": [],
    }
    local = TokenBucket(rate=10**9, period=1.0)
    shared = RedisTokenBucket(url, name=f"bench-{uuid.uuid4().hex}", rate=10**9, period=1.0)
    async with shared:
        await shared.acquire()  # loads the script, creates the bucket
        for _ in range(REPETITIONS):
            started = time.perf_counter()
            for _ in range(CALLS):
                await local.acquire()
            results["TokenBucket"].append((time.perf_counter() - started) / CALLS * 1e6)
            calls, usec = await script_stats(shared)
            started = time.perf_counter()
            for _ in range(CALLS):
                await shared.acquire()
            results["RedisTokenBucket"].append((time.perf_counter() - started) / CALLS * 1e6)
            calls_after, usec_after = await script_stats(shared)
            results["trips"].append((calls_after - calls) / CALLS)
            results["server_us"].append((usec_after - usec) / (calls_after - calls))
    return results


async def full_bucket_bytes(url: str) -> int:
    """Bytes Redis holds for a bucket of 200 whose window is full (200 grants listed)."""
    bucket = RedisTokenBucket(url, name=f"bench-full-{uuid.uuid4().hex}", rate=200, period=1.0)
    async with bucket:
        for _ in range(200):
            await bucket.acquire()
        return await bucket_bytes(bucket)


def fleet_run(url: str, processes: int) -> dict[str, Any]:
    """One run of ``processes`` workers acquiring for ``WINDOWS`` periods; grant times."""
    start = time.time() + 2.0 + 0.4 * processes  # once every worker has imported
    shared = {
        "mode": "acquire",
        "redis_url": url,
        "name": f"bench-fleet-{uuid.uuid4().hex}",
        "rate": RATE,
        "period": PERIOD,
        "margin": MARGIN,
        "burst": 1,
        "start": start,
        "until": start + WINDOWS * PERIOD,
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ratelimit.fleet_worker",
                json.dumps({**shared, "backend": ("asyncio", "trio")[index % 2]}),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(processes)
    ]
    grants: list[float] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        if worker.returncode != 0:
            raise RuntimeError(f"a fleet worker failed: {out}")
        grants += json.loads(out.strip().splitlines()[-1])["grants"]
    grants.sort()
    sustained = (len(grants) - 1) / (grants[-1] - grants[0])
    return {
        "grants": len(grants),
        "share_of_cap": sustained / (RATE / PERIOD),
        "worst_window": worst_window(grants, PERIOD),
    }


def main() -> None:
    if shutil.which("redis-server") is None:
        print("bench_redis: redis-server is not installed (apt-get install -y redis-server)")
        sys.exit(1)
    server = RedisServer()
    server.start()
    try:
        time.sleep(PERIOD + MARGIN + 1.5)  # past a new server's first window (reserve.lua)
        costs = {
            backend: anyio.run(overhead, server.url, backend=backend)
            for backend in ("asyncio", "trio")
        }
        full_bytes = anyio.run(full_bucket_bytes, server.url)
        fleet = {n: [fleet_run(server.url, n) for _ in range(FLEET_RUNS)] for n in (1, 4, 8)}
    finally:
        server.stop()
    rows = []
    for backend, values in costs.items():
        rows.append(
            [
                backend,
                summary(values["TokenBucket"], 2),
                summary(values["RedisTokenBucket"], 1),
                summary(ratios(values["RedisTokenBucket"], values["TokenBucket"]), 0),
                summary(values["trips"], 2),
                summary(values["server_us"], 1),
            ]
        )
    fleet_rows = []
    for processes, runs in fleet.items():
        fleet_rows.append(
            [
                str(processes),
                summary([float(run["grants"]) for run in runs], 0),
                summary([run["share_of_cap"] * 100 for run in runs], 1),
                f"{PERIOD / (PERIOD + MARGIN) * 100:.1f}",
                summary([float(run["worst_window"]) for run in runs], 0),
                str(RATE),
            ]
        )
    tables = [
        table(
            f"Grant overhead, µs per acquire (never binding), {REPETITIONS} repetitions of "
            f"{CALLS:,}; Redis on 127.0.0.1",
            [
                "event loop",
                "TokenBucket µs",
                "RedisTokenBucket µs",
                "x TokenBucket",
                "round trips per acquire",
                "script µs in Redis",
            ],
            rows,
        ),
        table(
            f"Processes sharing one bucket of {RATE} per {PERIOD:g} s (burst 1, margin "
            f"{MARGIN:g} s), {WINDOWS} windows, {FLEET_RUNS} runs: median (min-max)",
            [
                "processes",
                "grants",
                "sustained, % of cap",
                "long-run bound, % of cap",
                f"most grants in a {PERIOD:g} s window",
                "promise",
            ],
            fleet_rows,
        ),
    ]
    tables.append(
        table(
            "Redis memory for one bucket of 200 with a full window",
            ["keys", "bytes (MEMORY USAGE)"],
            [["state hash + list of 200 grant instants", f"{full_bytes:,}"]],
        )
    )
    data = {
        "overhead": costs,
        "full_bucket_bytes": full_bytes,
        "fleet": {str(k): v for k, v in fleet.items()},
    }
    save("redis", tables, data)


if __name__ == "__main__":
    main()
