"""Where the CPU goes per call at concurrency 64: cProfile over 3,000 single-invoice calls.

For each transport of the SDK: calls per second and CPU µs per call without the
profiler, then the functions with the most own time under it. The figures behind the
default ``transport="auto"`` (see ``cryptopay_async/_transports/_auto.py``).
Run: ``python -m nox -s bench`` or ``python benchmarks/profile_call.py``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import save
from bench_http import INVOICE_ID, server

from cryptopay_async import AsyncCryptopay

CALLS = 3000
CONCURRENCY = 64


async def calls(url: str, transport: str, profile: cProfile.Profile | None) -> str:
    async with AsyncCryptopay(
        api_key="bench",
        api_secret="bench",
        base_url=url,
        rate_limiter=None,
        max_retries=0,
        transport=transport,  # type: ignore[arg-type]
    ) as client:
        for _ in range(50):
            await client.invoices.retrieve(INVOICE_ID)
        remaining = iter(range(CALLS))

        async def worker() -> None:
            for _ in remaining:
                await client.invoices.retrieve(INVOICE_ID)

        if profile is not None:
            profile.enable()
        started, cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profile is not None:
            profile.disable()
        return f"{CALLS / elapsed:,.0f} calls/s, {cpu / CALLS * 1e6:,.0f} µs CPU per call"


def main() -> None:
    parts = []
    with server() as url:
        for transport in ("httpx", "aiohttp"):
            plain = anyio.run(calls, url, transport, None)
            profile = cProfile.Profile()
            anyio.run(calls, url, transport, profile)
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_stats(10)
            top = "\n".join(line[:160] for line in out.getvalue().splitlines()[-13:])
            parts.append(
                f"### transport={transport!r}, {CALLS:,} single-invoice calls at "
                f"c{CONCURRENCY}: {plain} (without the profiler)\n\n```\n{top}\n```"
            )
    save("profile", parts, {})


if __name__ == "__main__":
    main()
