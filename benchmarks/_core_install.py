"""The SDK as a core install runs it (no msgspec, orjson or aiohttp), in its own process.

``python benchmarks/_core_install.py URL ENDPOINT CONCURRENCY CALLS`` prints the calls per
second of ``CALLS`` calls (after 20 warm-up calls) as a JSON list of one number, like the
Node reference. The extras are made unimportable before the SDK is imported, so it picks
what a ``pip install cryptopay-async`` gets: the cattrs engine, the stdlib JSON encoder
and httpx's pool. (Swapping the engine inside the benchmark process instead would leak:
concurrent calls saving and restoring a global leave the wrong one behind.)
"""

from __future__ import annotations

import json
import sys
import time

for extra in ("msgspec", "orjson", "aiohttp"):
    sys.modules[extra] = None  # type: ignore[assignment]  # import now raises ImportError

# Imported only now, with the extras blocked: that is the point of this script.
import anyio  # noqa: E402

from cryptopay_async import AsyncCryptopay  # noqa: E402
from cryptopay_async._decoding import _engines as _decoding  # noqa: E402
from cryptopay_async._transports._auto import aiohttp_installed  # noqa: E402

INVOICE_ID = "03692121-10b9-40bf-a79f-f9ad1f89f13d"


async def main(url: str, endpoint: str, concurrency: int, calls: int) -> float:
    assert _decoding.engine.name == "cattrs", _decoding.engine.name
    assert not aiohttp_installed()
    async with AsyncCryptopay(
        api_key="bench", api_secret="bench", base_url=url, rate_limiter=None, max_retries=0
    ) as client:

        async def call() -> object:
            if endpoint == "page":
                return await client.invoices.list()
            return await client.invoices.retrieve(INVOICE_ID)

        for _ in range(20):
            await call()
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await call()

        started = time.perf_counter()
        with anyio.fail_after(300):
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker)
        return calls / (time.perf_counter() - started)


if __name__ == "__main__":
    url, endpoint, concurrency, calls = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5])
    rate = anyio.run(main, url, endpoint, concurrency, calls)
    print(json.dumps([rate]))
