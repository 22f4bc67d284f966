"""Callers cancelled at random points leave the client as they found it.

150 calls over real TCP, each cancelled after a random delay (seeded, so a failure
replays): in the admission queue, the concurrency queue, the limiter's queue, while
connecting, sending or reading. Afterwards no admission place, concurrency slot,
limiter waiter or pool connection is held, and the client serves new calls.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import anyio
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async._transports._httpx_pool import HttpxPool
from cryptopay_async.ratelimit import TokenBucket
from tests.misbehaving_server import Fault, MisbehavingServer
from tests.transports.test_faults import TRANSPORTS, call, client_for

SEEDS = [1, 2]
CALLS = 150
MAX_CONCURRENCY = 4


def requests_in_pool(client: AsyncCryptopay) -> int:
    """Requests the connection pool still counts as active or queued."""
    return _in_use(client._runtime.http._transport)


def _in_use(transport: Any) -> int:
    if isinstance(transport, HttpxPool):  # its own count, and each httpcore pool's
        return sum(transport.in_flight) + sum(_in_use(pool) for pool in transport._pools)
    pools = getattr(transport, "_pools", None)
    if pools is not None:  # transport="auto": whichever pools it built
        return sum(_in_use(pool) for pool in pools.values())
    if hasattr(transport, "_session"):  # the aiohttp transport: connections handed out
        session = transport._session
        return 0 if session is None else len(session.connector._acquired)
    return len(transport._pool._requests)


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "anyio_backend"), TRANSPORTS)
@pytest.mark.parametrize("seed", SEEDS)
async def test_random_cancellations_leak_no_slot_place_waiter_or_connection(
    transport: str, seed: int
) -> None:
    rng = random.Random(seed)
    # (method, start, cancel after): a third of the calls have time to finish.
    plan = [
        (
            rng.choice(["GET", "POST"]),
            rng.uniform(0, 0.04),
            rng.uniform(0, 0.03) if rng.random() < 2 / 3 else 10.0,
        )
        for _ in range(CALLS)
    ]
    bucket = TokenBucket(rate=2000, period=1.0, burst=5)  # short waits in the limiter too
    outcomes: Counter[str] = Counter()
    with MisbehavingServer(Fault.ANSWER, answer_delay=0.004) as server:
        async with client_for(
            server.url, transport, rate_limiter=bucket, max_concurrency=MAX_CONCURRENCY
        ) as client:
            admission = client._runtime.admission._slots.value
            concurrency = client._runtime.concurrency._slots.value

            async def one(method: str, start: float, cancel_after: float) -> None:
                await anyio.sleep(start)
                with anyio.move_on_after(cancel_after) as scope:
                    await call(client, method)
                outcomes["cancelled" if scope.cancelled_caught else "completed"] += 1

            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    for method, start, cancel_after in plan:
                        group.start_soon(one, method, start, cancel_after)
            await anyio.sleep(0.05)  # let closed connections be noticed
            assert outcomes["cancelled"] >= 10, outcomes  # both paths were exercised
            assert outcomes["completed"] >= 10, outcomes
            assert client._runtime.admission._slots.value == admission
            assert client._runtime.concurrency._slots.value == concurrency
            assert bucket.waiting == 0
            assert requests_in_pool(client) == 0
            # Still usable: three times as many calls as slots, all at once.
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    for _ in range(3 * MAX_CONCURRENCY):
                        group.start_soon(call, client, "GET")
            assert requests_in_pool(client) == 0
