"""Calls per second: the SDK beside raw httpx (same pool), aiohttp and a Node client.

Single-invoice and 50-invoice-page GETs at concurrency 1, 64 and 500, limiter off,
against a minimal server in another process. Every case runs once per repetition,
interleaved; ratios are taken per repetition. Latency p50/p99 is recorded at c500.

The Node reference (``benchmarks/node/``) is axios plus crypto-js doing the official
``cryptopay-node`` SDK's work per call (Date header, MD5 and HMAC-SHA1 signature, JSON
parse): the SDK itself is not on the npm registry this project can reach. It runs when
``node`` is installed and ``npm ci --prefix benchmarks/node`` has been run (the bench
nox session does it); otherwise its rows are left out. The core-install row runs in its
own process with the extras made unimportable (``_core_install.py``). The raw httpx rows
use the same pool as the SDK rows beside them: the SDK's httpx pool
(``cryptopay_async/_transports/_httpx_pool.py``) and its aiohttp transport
(``cryptopay_async/_transports/_aiohttp.py``); one more row shows raw httpx on the pool
``httpx.AsyncClient`` builds by default.
Run: ``python -m nox -s bench`` or ``python benchmarks/bench_http.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ratios, save, summary, table, verdict

from cryptopay_async import AsyncCryptopay
from cryptopay_async._transports._aiohttp import AiohttpTransport
from cryptopay_async._transports._httpx_pool import HttpxPool
from cryptopay_async._transports._pool import shared_ssl_context
from cryptopay_async.testing._server import free_port

REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "5"))
CONCURRENCY = (1, 64, 500)
CALLS = {1: 300, 64: 1500, 500: 2000}
POOL = 16  # the SDK's default max_concurrency; raw clients get the same pool size
INVOICE_ID = "03692121-10b9-40bf-a79f-f9ad1f89f13d"

NODE = Path(__file__).resolve().parent / "node"
CORE_INSTALL = Path(__file__).resolve().parent / "_core_install.py"
NODE_CLIENT = "Node reference (axios, as the official SDK)"
RAW_AIOHTTP = "raw httpx over the SDK's aiohttp transport, same pool"
RAW_HTTPX = "raw httpx over the SDK's httpx pool, same pool"
HTTPX_NATIVE = "raw httpx, its default pool of 16"
DEFAULT = "cryptopay-async, default install with [speedups]"
NO_EXTRAS = "cryptopay-async, no extras (httpx, cattrs)"

Call = Callable[[], Awaitable[object]]


def node_available() -> bool:
    return shutil.which("node") is not None and (NODE / "node_modules" / "axios").is_dir()


async def node_rate(url: str, endpoint: str, concurrency: int, calls: int) -> float:
    """Calls per second of the Node reference, in its own process (after 20 warm-up calls)."""
    args = [str(NODE / "bench.js"), url, endpoint, str(concurrency), str(calls), "1"]
    return await process_rate(["node", *args])


async def core_install_rate(url: str, endpoint: str, concurrency: int, calls: int) -> float:
    """Calls per second of the SDK without its extras, in its own process (``_core_install``)."""
    args = [str(CORE_INSTALL), url, endpoint, str(concurrency), str(calls)]
    return await process_rate([sys.executable, *args])


async def process_rate(command: list[str]) -> float:
    done = await anyio.run_process(command, check=True)
    rates: list[float] = json.loads(done.stdout)
    return rates[0]


@contextlib.contextmanager
def server() -> Iterator[str]:
    port = free_port()
    script = Path(__file__).resolve().parent / "_server.py"
    with subprocess.Popen([sys.executable, str(script), str(port)]) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/api/invoices/{INVOICE_ID}", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.asynccontextmanager
async def clients(url: str) -> AsyncIterator[dict[str, dict[str, Call]]]:
    """Each client's two calls: one invoice, one 50-invoice page."""
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    sdk_options: dict[str, Any] = {
        "api_key": "bench",
        "api_secret": "bench",
        "base_url": url,
        "rate_limiter": None,
        "max_retries": 0,
    }
    async with (
        AsyncCryptopay(**sdk_options) as sdk_default,
        AsyncCryptopay(**sdk_options, transport="httpx") as sdk,
        AsyncCryptopay(**sdk_options, transport="aiohttp") as sdk_aiohttp,
        httpx.AsyncClient(
            base_url=url,
            timeout=120,
            transport=HttpxPool(ssl_context=shared_ssl_context(), limits=limits),
        ) as raw,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as raw_default,
        httpx.AsyncClient(
            base_url=url,
            timeout=120,
            transport=AiohttpTransport(ssl_context=shared_ssl_context(), limits=limits),
        ) as raw_aiohttp,
        aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=POOL)) as session,
    ):

        def httpx_calls(client: httpx.AsyncClient) -> dict[str, Call]:
            async def one() -> object:
                return orjson.loads((await client.get(f"/api/invoices/{INVOICE_ID}")).content)

            async def page() -> object:
                return orjson.loads((await client.get("/api/invoices")).content)

            return {"invoice": one, "page": page}

        async def session_one() -> object:
            async with session.get(f"/api/invoices/{INVOICE_ID}") as response:
                return orjson.loads(await response.read())

        async def session_page() -> object:
            async with session.get("/api/invoices") as response:
                return orjson.loads(await response.read())

        async def sdk_page(client: AsyncCryptopay) -> object:
            return await client.invoices.list()

        yield {
            DEFAULT: {
                "invoice": lambda: sdk_default.invoices.retrieve(INVOICE_ID),
                "page": lambda: sdk_page(sdk_default),
            },
            "cryptopay-async (httpx)": {
                "invoice": lambda: sdk.invoices.retrieve(INVOICE_ID),
                "page": lambda: sdk_page(sdk),
            },
            RAW_HTTPX: httpx_calls(raw),
            HTTPX_NATIVE: httpx_calls(raw_default),
            "cryptopay-async (transport='aiohttp')": {
                "invoice": lambda: sdk_aiohttp.invoices.retrieve(INVOICE_ID),
                "page": lambda: sdk_page(sdk_aiohttp),
            },
            RAW_AIOHTTP: httpx_calls(raw_aiohttp),
            "aiohttp.ClientSession": {"invoice": session_one, "page": session_page},
        }


async def measure(call: Call, calls: int, concurrency: int) -> tuple[float, list[float]]:
    """(calls per second, per-call latencies in seconds) for ``calls`` calls."""
    latencies: list[float] = []
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with anyio.fail_after(300):
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
    return calls / (time.perf_counter() - started), latencies


async def run(url: str) -> dict[str, Any]:
    rps: dict[str, list[float]] = {}
    p50: dict[str, list[float]] = {}
    p99: dict[str, list[float]] = {}
    async with clients(url) as cases:
        for calls in cases.values():  # warm up every pool
            for call in calls.values():
                for _ in range(20):
                    await call()
        for repetition in range(REPETITIONS):
            for concurrency in CONCURRENCY:
                for endpoint in ("invoice", "page"):
                    if node_available():
                        key = f"{NODE_CLIENT}|{endpoint}|{concurrency}"
                        rate = await node_rate(url, endpoint, concurrency, CALLS[concurrency])
                        rps.setdefault(key, []).append(rate)
                    key = f"{NO_EXTRAS}|{endpoint}|{concurrency}"
                    rate = await core_install_rate(url, endpoint, concurrency, CALLS[concurrency])
                    rps.setdefault(key, []).append(rate)
                    for name, calls in cases.items():
                        key = f"{name}|{endpoint}|{concurrency}"
                        rate, latencies = await measure(
                            calls[endpoint], CALLS[concurrency], concurrency
                        )
                        rps.setdefault(key, []).append(rate)
                        if concurrency == 500:
                            cuts = statistics.quantiles(latencies, n=100)
                            p50.setdefault(key, []).append(cuts[49] * 1000)
                            p99.setdefault(key, []).append(cuts[98] * 1000)
            print(f"repetition {repetition + 1}/{REPETITIONS} done", file=sys.stderr)
    names = [next(iter(cases)), NO_EXTRAS, *list(cases)[1:]]
    names += [NODE_CLIENT] if node_available() else []
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "clients": names}


def report(data: dict[str, Any]) -> None:
    rps, p50, p99, names = data["rps"], data["p50_ms"], data["p99_ms"], data["clients"]
    tables = []
    for endpoint, label in (("invoice", "single invoice"), ("page", "50-invoice page")):
        rows = []
        for name in names:
            cells = [summary(rps[f"{name}|{endpoint}|{c}"], 0) for c in CONCURRENCY]
            key = f"{name}|{endpoint}|500"
            latency = [summary(p50[key], 0), summary(p99[key], 0)] if key in p50 else ["-", "-"]
            rows.append([name, *cells, *latency])
        tables.append(
            table(
                f"{label}: calls per second, median (min-max) of {REPETITIONS}; "
                "latency at c500 in ms",
                ["client", "c1", "c64", "c500", "p50 c500", "p99 c500"],
                rows,
            )
        )

    def ratio(a: str, b: str, endpoint: str, c: int) -> list[float]:
        return ratios(rps[f"{a}|{endpoint}|{c}"], rps[f"{b}|{endpoint}|{c}"])

    sdk, raw = "cryptopay-async (httpx)", RAW_HTTPX
    fast, raw_fast = (
        "cryptopay-async (transport='aiohttp')",
        RAW_AIOHTTP,
    )
    rows = []
    targets: dict[str, bool] = {}
    for endpoint, floor in (("invoice", 0.95), ("page", 0.85)):
        for c in CONCURRENCY:
            for a, b in ((sdk, raw), (fast, raw_fast)):
                r = ratio(a, b, endpoint, c)
                met = statistics.median(r) >= floor
                targets[f"{a} vs {b}, {endpoint}, c{c} >= {floor}"] = met
                rows.append(
                    [f"{a} / {b}", endpoint, f"c{c}", summary(r, 2), f">= {floor}", verdict(met)]
                )
    # Issue 7's "aiohttp transport >= 3x httpx native": against httpx's own default pool,
    # which the SDK's httpx transport no longer is (``_httpx_pool.py``).
    faster = ratio(fast, HTTPX_NATIVE, "invoice", 64)
    targets["aiohttp transport >= 3x httpx native at c64"] = statistics.median(faster) >= 3
    rows.append(
        [
            f"{fast} / {HTTPX_NATIVE}",
            "invoice",
            "c64",
            summary(faster, 2),
            ">= 3",
            verdict(statistics.median(faster) >= 3),
        ]
    )
    if NODE_CLIENT in names:
        for name, floor in ((DEFAULT, 1.0), (NO_EXTRAS, 0.8)):
            for endpoint in ("invoice", "page"):
                for c in CONCURRENCY:
                    r = ratio(name, NODE_CLIENT, endpoint, c)
                    met = statistics.median(r) >= floor
                    targets[f"{name} vs Node, {endpoint}, c{c} >= {floor}"] = met
                    rows.append(
                        [
                            f"{name} / Node",
                            endpoint,
                            f"c{c}",
                            summary(r, 2),
                            f">= {floor}",
                            verdict(met),
                        ]
                    )
    for name in (sdk, fast):
        for endpoint in ("invoice", "page"):
            key = f"{name}|{endpoint}|500"
            spread = ratios(p99[key], p50[key])
            met = statistics.median(spread) <= 3
            targets[f"{name} {endpoint} p99 <= 3x p50 at c500"] = met
            rows.append(
                [f"{name}: p99 / p50", endpoint, "c500", summary(spread, 2), "<= 3", verdict(met)]
            )
    tables.append(
        table(
            "Ratios per repetition, median (min-max), against the targets",
            ["ratio", "call", "concurrency", "value", "target", "verdict"],
            rows,
        )
    )
    save("http", tables, {**data, "targets": targets})


def main() -> None:
    with server() as url:
        data = anyio.run(run, url)
    report(data)


if __name__ == "__main__":
    main()
