"""The emulator's answer time per request, served (``cryptopay emulator serve``) and in-process.

Each case sends ``CALLS`` sequential requests through one SDK client, so every request
after the first reuses the same connection: the case where an emulator server that
leaves Nagle's algorithm on adds a delayed ACK (about 40 ms on Linux) to every answer.
The served emulator runs as the command a user starts, in its own process. The script
exits non-zero when a request on the reused connection takes longer than ``BOUND_MS``.
"""

from __future__ import annotations

import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import save, summary, table, verdict

from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing import CryptopayEmulator

REPETITIONS = 5
CALLS = 50
BOUND_MS = 10.0  # far under the 40 ms of a delayed ACK, far over a loopback answer


async def per_request_ms(client: AsyncCryptopay) -> list[float]:
    """Milliseconds of each of ``CALLS`` sequential requests after a first, warming one."""
    await client.rates.retrieve("BTC", "EUR")  # opens the connection
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        await client.rates.retrieve("BTC", "EUR")
        times.append((time.perf_counter() - started) * 1000)
    return times


async def served(settings: dict[str, str]) -> list[float]:
    async with AsyncCryptopay(
        api_key=settings["CRYPTOPAY_API_KEY"],
        api_secret=settings["CRYPTOPAY_API_SECRET"],
        base_url=settings["CRYPTOPAY_BASE_URL"],
        rate_limiter=None,
    ) as client:
        return await per_request_ms(client)


async def in_process(emulator: CryptopayEmulator) -> list[float]:
    async with emulator.client(rate_limiter=None) as client:
        return await per_request_ms(client)


def main() -> None:
    command = [sys.executable, "-m", "cryptopay_async.testing", "serve", "--port", "0"]
    command += ["--rate-limit", "1000000"]
    samples: dict[str, list[list[float]]] = {"served (emulator serve)": [], "in-process": []}
    emulator = CryptopayEmulator(rate_limit=1_000_000)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            words = shlex.split(process.stdout.readline())
            settings = dict(word.split("=", 1) for word in words[1:])
            for _ in range(REPETITIONS):  # interleaved, so machine noise hits both alike
                samples["served (emulator serve)"].append(anyio.run(served, settings))
                samples["in-process"].append(anyio.run(in_process, emulator))
        finally:
            process.terminate()
            process.wait(timeout=10)
    rows = []
    for name, runs in samples.items():
        medians = [statistics.median(run) for run in runs]
        worst = [max(run) for run in runs]
        rows.append([name, summary(medians, 2), summary(worst, 1)])
    served_median = statistics.median(statistics.median(run) for run in samples[rows[0][0]])
    met = served_median < BOUND_MS
    rows.append([f"served median under {BOUND_MS:g} ms", verdict(met), ""])
    title = (
        f"Per request on a reused connection, ms: {CALLS} sequential calls per repetition, "
        f"median (min-max) of {REPETITIONS}"
    )
    tables = [table(title, ["emulator", "median per request", "slowest request"], rows)]
    save("emulator", tables, dict(samples))
    if not met:
        sys.exit(f"the served emulator takes {served_median:.1f} ms per request (bound {BOUND_MS})")


if __name__ == "__main__":
    main()
