"""1,000 callback deliveries, repeats included, to ``uvicorn --workers 4`` (real processes)
sharing a RedisDeliveryStore: every distinct event is handled exactly once."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from cryptopay_async.testing._server import free_port
from tests.integrations.deliveries import completed_invoice_callback, deliver
from tests.support import CALLBACK_SECRET

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


@pytest.fixture
def four_workers(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    handled = tmp_path / "handled.log"
    environment = {
        **os.environ,
        "CRYPTOPAY_CALLBACK_SECRET": CALLBACK_SECRET,
        "TEST_REDIS_URL": redis_url,
        "TEST_REDIS_PREFIX": f"test:{uuid.uuid4().hex}:",
        "TEST_HANDLED_FILE": str(handled),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.integrations.redis_workers_app:app",
        "--workers",
        "4",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(command, cwd=ROOT, env=environment) as server:
        try:
            wait_for_workers(url, 4, deadline=time.monotonic() + 60)
            yield url, handled
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_for_workers(url: str, count: int, deadline: float) -> None:
    """Until ``count`` distinct worker processes have answered (fresh connection each)."""
    seen: set[int] = set()
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} uvicorn workers answered")
        try:
            seen.add(int(httpx.get(f"{url}/pid", timeout=2).text))
        except httpx.HTTPError:
            time.sleep(0.1)


async def test_each_distinct_event_is_handled_once_across_four_workers(
    four_workers: tuple[str, Path],
) -> None:
    url, handled = four_workers
    rng = random.Random(13)
    events = [completed_invoice_callback() for _ in range(400)]
    # 1,000 deliveries: every event at least once, 600 repeats, shuffled so that copies
    # of one event are often in flight at the same time on different workers.
    deliveries = events + [rng.choice(events) for _ in range(600)]
    rng.shuffle(deliveries)
    statuses: list[int] = []
    in_progress: list[bytes] = []
    limiter = anyio.Semaphore(32)
    # No keep-alive: each delivery is a new connection, accepted by any worker.
    limits = httpx.Limits(max_keepalive_connections=0)

    async def one(http: httpx.AsyncClient, body: bytes) -> None:
        # A copy arriving while another copy's handler runs is answered 409; Cryptopay
        # delivers it again later, as this does (bounded) until it is answered 200.
        for _ in range(200):
            async with limiter:
                answer = await deliver(http, f"{url}/cryptopay/callbacks", body)
            if answer.status_code != 409:
                statuses.append(answer.status_code)
                return
            in_progress.append(body)
            await anyio.sleep(0.05)

    async with (
        httpx.AsyncClient(limits=limits, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):
        for body in deliveries:
            tg.start_soon(one, http, body)

    assert Counter(statuses) == {200: 1000}
    # Only a repeat can meet its own event in progress.
    assert {body for body in in_progress if deliveries.count(body) < 2} == set()
    lines = handled.read_text().split()
    pids, ids = lines[0::2], lines[1::2]
    expected = {json.loads(body)["data"]["id"] for body in events}
    assert Counter(ids) == dict.fromkeys(expected, 1)  # each exactly once
    assert len(set(pids)) >= 2  # and the work was spread over several workers
