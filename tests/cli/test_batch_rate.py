"""``--rate``: batch processes sharing one key through Redis, each below its own share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from cryptopay_async.ratelimit import fleet_bucket_name
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from tests.cli.test_batch import INVOICE, results, write_csv
from tests.redis_server import RedisServer


def test_two_batches_share_the_key_through_redis_each_at_its_own_rate(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    emulator = CryptopayEmulator()
    sources = [
        write_csv(
            tmp_path / f"{name}.csv",
            [{**INVOICE, "custom_id": f"{name}-{n}"} for n in range(30)],
        )
        for name in ("A", "B")
    ]
    # A bucket new to a Redis server up for less than the key's period waits out the rest
    # of the period (grants made before a restart may be lost); this server is new, so
    # the key's bucket is made existing and empty, as on a server that has run for long.
    bucket = f"cryptopay:ratelimit:{{{fleet_bucket_name(emulator.api_key)}}}:state"
    redis.Redis.from_url(redis_server.url).hset(bucket, mapping={"tat": 0, "paused": 0})
    with serve_in_thread(emulator.asgi_app) as url:
        env = {
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
            "CRYPTOPAY_REDIS_URL": redis_server.url,
            "CRYPTOPAY_BATCH_RATE": "10/1",
        }
        started = time.monotonic()
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "cryptopay_async", "batch", "invoices", str(source)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for source in sources
        ]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        elapsed = time.monotonic() - started
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "30 requests, 1.00 per row sent (least: 1)" in output
    # 30 rows at most 10 in any second: the 30th cannot start before 2 s
    assert elapsed >= 2.0
    assert emulator.rate_limited == 0
    assert len(emulator.api.objects["invoices"]) == 60
    for source in sources:
        assert {r["outcome"] for r in results(source.with_suffix(".results.csv")).values()} == {
            "created"
        }
    keys = redis.Redis.from_url(redis_server.url).keys(f"*{fleet_bucket_name(emulator.api_key)}*")
    assert keys  # the key's own limiter was the shared one in Redis
