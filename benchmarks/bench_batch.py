"""``cryptopay batch`` at size: requests per row, a million-row dry run, a shared key.

1. Requests per row against the emulator (its own request count), for a first run and
   for a rerun after a run that stopped at 90 % (its results file kept), with no fault
   and with server errors and dropped answers.
2. A 1,000,000-row ``--dry-run`` as the command runs it (a child process): peak memory
   (the child's maximum resident set) and rows per second (wall time, start-up included).
3. ``--verify`` on a rerun of a finished job: the list requests it sends.
4. Two ``cryptopay batch`` processes on one key through Redis (``CRYPTOPAY_REDIS_URL``),
   each with ``--rate``: the most requests the emulator saw in any 60 s window, its
   429 answers, and the wall time.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import redis
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for its helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import save, table, verdict

from cryptopay_async.cli._batch import Kind, run_batch
from cryptopay_async.ratelimit import fleet_bucket_name
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.cli.test_batch import INVOICE, PAYOUT
from tests.ratelimit.test_token_bucket import worst_window
from tests.redis_server import RedisServer

ROWS = 1_000
MILLION = 1_000_000
SHARED_ROWS = 120  # per process: two of them need more than the key's 200 at once
FAULTS = Faults(error_503_rate=0.05, drop_rate=0.02, seed=7)


def write_rows(path: Path, kind: Kind, count: int, prefix: str = "R") -> Path:
    base = INVOICE if kind == "invoices" else PAYOUT
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["custom_id", *base])
        writer.writeheader()
        for n in range(count):
            writer.writerow({"custom_id": f"{prefix}-{n:07d}", **base})
    return path


async def sent_for(
    emulator: CryptopayEmulator, kind: Kind, source: Path, results: Path, verify: bool = False
) -> int:
    before = emulator.requests_seen
    await run_batch(
        kind,
        source,
        results,
        client=lambda: emulator.client(rate_limiter=None),
        workers=8,
        dry_run=False,
        console=Console(quiet=True),
        quiet=True,
        verify=verify,
    )
    return emulator.requests_seen - before


async def verify_cost(scratch: Path) -> list[list[object]]:
    """Requests of a ``--verify`` rerun of a finished job (every row recorded as done)."""
    table_rows: list[list[object]] = []
    for kind in ("invoices", "payouts"):
        emulator = CryptopayEmulator(rate_limit=10**9)
        source = write_rows(scratch / f"{kind}.verify.csv", kind, ROWS)
        results = scratch / f"{kind}.verify.results.csv"
        await sent_for(emulator, kind, source, results)
        verified = await sent_for(emulator, kind, source, results, verify=True)
        table_rows.append([kind, f"{ROWS:,}", verified, f"{verified / ROWS:.3f}"])
    return table_rows


async def requests_per_row(scratch: Path) -> list[list[object]]:
    table_rows: list[list[object]] = []
    for kind in ("invoices", "payouts"):
        for case, (label, faults) in enumerate(
            (("none", Faults()), ("5 % 503, 2 % dropped answers", FAULTS))
        ):
            emulator = CryptopayEmulator(faults=faults, rate_limit=10**9)
            full = write_rows(scratch / f"{kind}.csv", kind, ROWS)
            first = await sent_for(emulator, kind, full, scratch / f"{kind}{case}.first.csv")
            emulator = CryptopayEmulator(
                faults=faults, rate_limit=10**9
            )  # the same job, interrupted at 90 %
            part = write_rows(scratch / f"{kind}.part.csv", kind, ROWS * 9 // 10)
            results = scratch / f"{kind}{case}.rerun.csv"
            await sent_for(emulator, kind, part, results)
            rerun = await sent_for(emulator, kind, full, results)
            left = ROWS - ROWS * 9 // 10
            table_rows.append(
                [
                    kind,
                    label,
                    f"{first / ROWS:.2f}",
                    f"{rerun:,} ({rerun / left:.2f} per row left)",
                    f"{rerun / ROWS:.3f}",
                ]
            )
    return table_rows


def dry_run_million(scratch: Path) -> dict[str, float]:
    source = write_rows(scratch / "million.csv", "invoices", MILLION)
    command = [sys.executable, "-m", "cryptopay_async", "batch", "invoices", str(source)]
    command += ["--dry-run", "--results", str(scratch / "million.dry-run.csv")]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"the dry run failed ({status})")
    return {"wall_s": wall, "rows_per_s": MILLION / wall, "peak_mb": usage.ru_maxrss / 1024}


def shared_key(scratch: Path, rate: str) -> dict[str, Any]:
    server = RedisServer()
    server.start()
    emulator = CryptopayEmulator()
    times: list[float] = []
    try:
        # A bucket new to a Redis server up for less than the key's period waits out the
        # rest of it; this server is new, so the key's bucket is made existing and empty.
        state = f"cryptopay:ratelimit:{{{fleet_bucket_name(emulator.api_key)}}}:state"
        redis.Redis.from_url(server.url).hset(state, mapping={"tat": 0, "paused": 0})

        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/api/"):
                times.append(time.monotonic())
            await emulator.asgi_app(scope, receive, send)

        with serve_in_thread(recording) as url:
            env = {
                **os.environ,
                "CRYPTOPAY_API_KEY": emulator.api_key,
                "CRYPTOPAY_API_SECRET": emulator.api_secret,
                "CRYPTOPAY_BASE_URL": url,
                "CRYPTOPAY_REDIS_URL": server.url,
            }
            started = time.monotonic()
            command = [sys.executable, "-m", "cryptopay_async", "batch", "invoices"]
            runs = [
                subprocess.Popen(
                    [
                        *command,
                        str(write_rows(scratch / f"{p}.csv", "invoices", SHARED_ROWS, p)),
                        "--rate",
                        rate,
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
                for p in ("A", "B")
            ]
            codes = [run.wait(timeout=300) for run in runs]
            wall = time.monotonic() - started
    finally:
        server.stop()
    return {
        "rate": rate,
        "codes": codes,
        "requests": len(times),
        "worst_60s": worst_window(times, 60.0),
        "429": emulator.rate_limited,
        "wall_s": wall,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        per_row = anyio.run(requests_per_row, scratch)
        verified = anyio.run(verify_cost, scratch)
        million = dry_run_million(scratch)
        shared = shared_key(scratch, "150/60") if shutil.which("redis-server") is not None else None
    tables = [
        table(
            f"requests per row, {ROWS:,} rows, 8 workers (least: 1 per invoice, 2 per payout)",
            ["kind", "faults", "first run", "rerun after 90 %", "rerun per row of the file"],
            per_row,
        ),
        table(
            "a 1,000,000-row invoice --dry-run (child process, start-up included)",
            ["rows/s", "peak memory", "goal (>= 20,000 rows/s, < 150 MB)"],
            [
                [
                    f"{million['rows_per_s']:,.0f}",
                    f"{million['peak_mb']:.0f} MB",
                    verdict(million["rows_per_s"] >= 20_000 and million["peak_mb"] < 150),
                ]
            ],
        ),
    ]
    tables.append(
        table(
            "--verify on a rerun of a finished job (list pages of 50)",
            ["kind", "rows recorded as done", "requests", "per row"],
            verified,
        )
    )
    if shared is not None:
        tables.append(
            table(
                f"two batch processes, {SHARED_ROWS} invoices each, one key (200/60 s) "
                "through Redis",
                ["--rate each", "requests", "most in any 60 s", "429s", "wall time", "exit"],
                [
                    [
                        shared["rate"],
                        shared["requests"],
                        shared["worst_60s"],
                        shared["429"],
                        f"{shared['wall_s']:.1f} s",
                        shared["codes"],
                    ]
                ],
            )
        )
    data = {"per_row": per_row, "verify": verified, "million": million, "shared": shared}
    save("batch", tables, data)


if __name__ == "__main__":
    main()
