"""What a client costs: construction time, and memory for 10,000 calls queued behind the limiter."""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import interleaved, save, summary, table, verdict

from cryptopay_async import AsyncCryptopay
from cryptopay_async._transports._pool import shared_ssl_context
from cryptopay_async.ratelimit import TokenBucket

QUEUED = 10_000


def construction() -> dict[str, list[float]]:
    context = shared_ssl_context()
    return interleaved(
        {
            "AsyncCryptopay(...)": lambda: AsyncCryptopay(api_key="k", api_secret="s"),
            "httpx.AsyncClient(verify=shared context)": lambda: httpx.AsyncClient(verify=context),
            "httpx.AsyncClient() (new TLS context)": lambda: httpx.AsyncClient(),
        },
        repetitions=7,
        calls=30,
    )


async def _queued(spawner: str, with_sdk: bool) -> float:
    """MB allocated while 10,000 calls wait (the limiter lets one go per hour).

    Without the SDK each task just waits on an event: the cost of the tasks themselves.
    """

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client = AsyncCryptopay(
        api_key="k",
        api_secret="s",
        base_url="https://h",
        http_client=http,
        rate_limiter=TokenBucket(1, 3600.0),
    )
    never = anyio.Event()

    async def call(index: int) -> None:
        if with_sdk:
            await client.request("GET", f"/api/invoices/{index}")
        else:
            await never.wait()

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    if spawner == "anyio task group":
        async with anyio.create_task_group() as tg:
            for index in range(QUEUED):
                tg.start_soon(call, index)
            await anyio.wait_all_tasks_blocked()
            held = tracemalloc.get_traced_memory()[0] - before
            tg.cancel_scope.cancel()
    else:
        tasks = [asyncio.create_task(call(index)) for index in range(QUEUED)]
        await anyio.wait_all_tasks_blocked()
        held = tracemalloc.get_traced_memory()[0] - before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    tracemalloc.stop()
    await http.aclose()
    return held / 1e6


def main() -> None:
    costs = construction()
    rows = [[name, summary(values, 1)] for name, values in costs.items()]
    ours = sorted(costs["AsyncCryptopay(...)"])[len(costs["AsyncCryptopay(...)"]) // 2]
    tables = [
        table(
            "Client construction, µs each, median (min-max) of 7 (target <= 1,000 µs: "
            f"{verdict(ours <= 1000)})",
            ["what", "µs"],
            rows,
        )
    ]
    rows, memory_data = [], {}
    for spawner in ("asyncio.create_task", "anyio task group"):
        totals, floors = [], []
        for _ in range(5):
            totals.append(anyio.run(_queued, spawner, True))
            floors.append(anyio.run(_queued, spawner, False))
        shares = [t - f for t, f in zip(totals, floors, strict=True)]
        total = sorted(totals)[2]
        rows.append(
            [
                spawner,
                summary(totals, 1),
                summary(floors, 1),
                summary(shares, 1),
                verdict(total <= 50),
            ]
        )
        memory_data[spawner] = {"total": totals, "tasks_alone": floors}
    tables.append(
        table(
            f"Memory for {QUEUED:,} calls queued behind the limiter, MB (tracemalloc), 5 runs; "
            "target total <= 50 MB",
            [
                "tasks spawned with",
                "total",
                "the waiting tasks alone",
                "the SDK's share",
                "verdict",
            ],
            rows,
        )
    )
    save("client", tables, {"construction_us": costs, "queued_mb": memory_data})


if __name__ == "__main__":
    main()
