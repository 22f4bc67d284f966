"""One process of a fleet sharing a RedisTokenBucket: ``python -m tests.ratelimit.fleet_worker``.

Started by ``test_redis_fleet.py`` with one JSON argument; prints one JSON line with
what it saw. Its wall and monotonic clocks can be shifted by ``clock_offset`` seconds
before the event loop starts, to show that only the Redis server's clock counts.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import anyio

from cryptopay_async import AsyncCryptopay, RateLimitError, RateLimiterUnavailableError
from cryptopay_async.ratelimit import RedisTokenBucket


def shift_clocks(offset: float) -> None:
    """This process's clocks run ``offset`` seconds off (asyncio's loop reads monotonic)."""
    wall, monotonic = time.time, time.monotonic
    time.time = lambda: wall() + offset
    time.monotonic = lambda: monotonic() + offset


async def call_api(settings: dict[str, Any], bucket: RedisTokenBucket) -> dict[str, Any]:
    """``requests`` calls to the emulator through a client limited by ``bucket``."""
    seen = {"ok": 0, "rate_limited": 0, "redis_unavailable": 0}
    remaining = settings["requests"]
    client = AsyncCryptopay(
        api_key=settings["api_key"],
        api_secret=settings["api_secret"],
        base_url=settings["base_url"],
        rate_limiter=bucket,
        max_retries=0,
    )

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            while True:
                try:
                    await client.rates.retrieve("BTC", "EUR")
                except RateLimiterUnavailableError:
                    seen["redis_unavailable"] += 1
                    await anyio.sleep(0.05)
                    continue
                except RateLimitError:
                    seen["rate_limited"] += 1
                else:
                    seen["ok"] += 1
                break

    async with client, anyio.create_task_group() as tg:
        for _ in range(settings["concurrency"]):
            tg.start_soon(caller)
    return seen


async def acquire_for_a_while(settings: dict[str, Any], bucket: RedisTokenBucket) -> dict[str, Any]:
    """Acquire until ``until`` (wall clock), noting each grant; maybe pause once."""
    grants: list[float] = []
    paused_at = None
    async with bucket:
        while time.time() < settings["until"]:
            await bucket.acquire()
            grants.append(time.time())
            if len(grants) == settings.get("pause_after"):
                paused_at = time.time()
                bucket.pause(settings["pause"])
    return {"grants": grants, "paused_at": paused_at}


async def main(settings: dict[str, Any]) -> None:
    bucket = RedisTokenBucket(
        settings["redis_url"],
        name=settings["name"],
        rate=settings["rate"],
        period=settings["period"],
        margin=settings["margin"],
        burst=settings.get("burst"),
        timeout=2.0,
    )
    with anyio.fail_after(settings.get("deadline", 60)):
        await anyio.sleep_until(settings["start"] - time.time() + anyio.current_time())
        if settings["mode"] == "api":
            result = await call_api(settings, bucket)
        else:
            result = await acquire_for_a_while(settings, bucket)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    # The start time and the deadline were computed on the true clock; shift after reading.
    arguments["start"] += arguments.get("clock_offset", 0.0)
    if "until" in arguments:
        arguments["until"] += arguments.get("clock_offset", 0.0)
    shift_clocks(arguments.get("clock_offset", 0.0))
    anyio.run(main, arguments, backend=arguments["backend"])
