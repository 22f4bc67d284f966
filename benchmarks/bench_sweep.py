"""CallbackSweeper: requests per sweep against the objects in the horizon, and Redis per state.

Needs ``redis-server`` (it starts its own on a free loopback port, persistence off).

a. Requests: the in-process emulator holds N invoices created within the horizon, half
   of them paid (a ledger row each), no callback delivered. A first sweep hands every
   state, a second one hands none; both send the same requests, counted by the sweeper
   and by the emulator. Beside them: the formula of the module docstring, and what
   one GET per object would cost. The time of a sweep at Cryptopay's 200 requests per
   minute with ``share=0.1`` (20 a minute) is computed from the requests, not waited.
b. Redis: the handled states of the 1,000-invoice sweep in a ``RedisDeliveryStore``:
   keys per handled state, and bytes per key (``MEMORY USAGE``, key and value).
"""

from __future__ import annotations

import math
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for its helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import save, table

from cryptopay_async.callbacks import (
    Callback,
    CallbackSweeper,
    Deduplicator,
    DeliveryStore,
    RedisDeliveryStore,
)
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator
from tests.redis_server import RedisServer

SIZES = (100, 1_000, 10_000)
PAGE = 50
CAP_PER_MINUTE, SHARE = 200, 0.1


def emulator_with(invoices: int) -> CryptopayEmulator:
    emulator = CryptopayEmulator(rate_limit=10**9)
    body = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}
    for number in range(invoices):
        invoice, _ = emulator.api.call("invoices.create", {}, {}, body)
        if number % 2 == 0:
            emulator.pay_invoice(invoice["id"])
    return emulator


def formula(invoices: int, ledger_rows: int) -> int:
    """The docstring's cost: ledger pages, invoice pages (+1 past the horizon unless the
    list ends), one page each for payouts, subscriptions and channels."""
    invoice_pages = math.ceil(invoices / PAGE)
    return math.ceil(ledger_rows / PAGE) + invoice_pages + 3


async def sweep(invoices: int, store: DeliveryStore | None = None) -> dict[str, Any]:
    emulator = emulator_with(invoices)
    handled = 0

    async def handler(event: Callback) -> None:
        nonlocal handled
        handled += 1

    async with emulator.client(rate_limiter=TokenBucket(10**6, 60.0)) as client:
        sweeper = CallbackSweeper(
            client, handler, deduplicator=Deduplicator(store), share=1.0, max_requests=10**6
        )
        before = emulator.requests_seen
        first = await sweeper.run_once()
        seen_first = emulator.requests_seen - before
        second = await sweeper.run_once()
    assert (first.complete, second.complete) == (True, True)
    assert (len(first.events), len(second.events)) == (invoices, 0)
    assert seen_first == first.requests
    paid = (invoices + 1) // 2
    return {
        "invoices": invoices,
        "first": first.requests,
        "second": second.requests,
        "formula": formula(invoices, paid),
        "one_get_each": invoices + 1,  # one GET per object, plus the list to find them
        "handled": handled,
    }


async def redis_cost(url: str, invoices: int) -> dict[str, float]:
    import redis.asyncio

    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    store = RedisDeliveryStore(url, prefix=prefix)
    async with store:
        result = await sweep(invoices, store)
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        sizes = [await client.memory_usage(key) or 0 for key in keys]
        lengths = [len(key) + 1 for key in keys]  # the value is "1"
    finally:
        await client.aclose()
    return {
        "states": result["handled"],
        "keys": len(keys),
        "bytes_per_key": sum(sizes) / len(sizes),
        "key_and_value": sum(lengths) / len(lengths),
    }


def main() -> None:
    if shutil.which("redis-server") is None:
        print("bench_sweep: redis-server is not installed (apt-get install -y redis-server)")
        sys.exit(1)
    results = [anyio.run(sweep, size) for size in SIZES]
    server = RedisServer()
    server.start()
    try:
        redis = anyio.run(redis_cost, server.url, 1_000)
    finally:
        server.stop()
    per_minute = CAP_PER_MINUTE * SHARE
    rows = [
        [
            f"{r['invoices']:,}",
            f"{r['first']:,}",
            f"{r['second']:,}",
            f"{r['formula']:,}",
            f"{r['one_get_each']:,}",
            f"{r['first'] / per_minute:.1f} min",
            f"{r['one_get_each'] / per_minute:.1f} min",
        ]
        for r in results
    ]
    tables = [
        table(
            "Requests per sweep against invoices in the horizon (half paid); "
            f"time at {CAP_PER_MINUTE}/min with share={SHARE} ({per_minute:g} requests a minute)",
            [
                "invoices",
                "first sweep (hands all)",
                "next sweep (hands 0)",
                "formula",
                "one GET per object",
                "sweep time",
                "time, one GET each",
            ],
            rows,
        ),
        table(
            "Redis per handled state (RedisDeliveryStore, 1,000-invoice sweep)",
            ["states handled", "keys", "keys per state", "MEMORY USAGE per key", "key + value"],
            [
                [
                    f"{redis['states']:,.0f}",
                    f"{redis['keys']:,.0f}",
                    f"{redis['keys'] / redis['states']:.2f}",
                    f"{redis['bytes_per_key']:.0f} B",
                    f"{redis['key_and_value']:.0f} B",
                ]
            ],
        ),
    ]
    save("sweep", tables, {"requests": results, "redis": redis})


if __name__ == "__main__":
    main()
