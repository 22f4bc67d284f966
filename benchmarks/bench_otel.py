"""What OpenTelemetry costs a call: without the extra, with the API alone, with the SDK.

Single-invoice calls per second at concurrency 1 and 64 against the minimal server of
``bench_http.py`` (limiter off), each set-up in its own process (``_otel_mode.py``):
(a) ``opentelemetry`` not importable, (b) the API installed and no provider configured,
(c) the SDK with spans batched to an in-memory exporter and an in-memory metric reader.
The three run in turn within each repetition; ratios are per repetition.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ratios, save, summary, table, verdict
from bench_http import server

MODE_SCRIPT = Path(__file__).resolve().parent / "_otel_mode.py"
MODES = {
    "absent": "(a) no otel extra (opentelemetry not importable)",
    "api": "(b) opentelemetry-api installed, no provider configured",
    "sdk": "(c) OpenTelemetry SDK, in-memory span exporter and metric reader",
}
CONCURRENCY = {1: 1500, 64: 3000}  # calls per measurement
REPETITIONS = 5
GOALS = {"api": 0.98, "sdk": 0.85}  # (b) within 2 % of (a), (c) within 15 %
NOTE = (
    "(a) and (b) run the same code: without a configured provider the client builds no "
    "instrument, so their difference is the machine's noise. (c) is what the OpenTelemetry "
    "SDK itself costs per call: two spans (the call, its attempt) and two histogram "
    "records, each span passing the SDK's sampler, attribute checks and span processor "
    "(cProfile of `_otel_mode.py sdk` puts the added time in the SDK's own code)."
)


async def rate(mode: str, url: str, concurrency: int, calls: int) -> float:
    command = [sys.executable, str(MODE_SCRIPT), mode, url, str(concurrency), str(calls)]
    done = await anyio.run_process(command, check=True)
    rates: list[float] = json.loads(done.stdout)
    return rates[0]


async def run(url: str) -> dict[str, list[float]]:
    rps: dict[str, list[float]] = {f"{m}|{c}": [] for m in MODES for c in CONCURRENCY}
    for _ in range(REPETITIONS):
        for concurrency, calls in CONCURRENCY.items():
            for mode in MODES:
                rps[f"{mode}|{concurrency}"].append(await rate(mode, url, concurrency, calls))
    return rps


def report(rps: dict[str, list[float]]) -> None:
    rows = [
        [label, *(summary(rps[f"{mode}|{c}"], 0) for c in CONCURRENCY)]
        for mode, label in MODES.items()
    ]
    headers = ["set-up", *(f"c{c}" for c in CONCURRENCY)]
    checks = []
    data: dict[str, Any] = {"rps": rps, "ratios": {}}
    for mode, goal in GOALS.items():
        for c in CONCURRENCY:
            values = ratios(rps[f"{mode}|{c}"], rps[f"absent|{c}"])
            data["ratios"][f"{mode}/absent|{c}"] = values
            met = statistics.median(values) >= goal
            checks.append(
                [f"{mode} / absent", f"c{c}", summary(values, 3), f">= {goal}", verdict(met)]
            )
    save(
        "otel",
        [
            table(
                f"single invoice: calls per second, median (min-max) of {REPETITIONS}",
                headers,
                rows,
            ),
            table(
                "Ratios per repetition, median (min-max), against the goals",
                ["ratio", "concurrency", "value", "goal", "verdict"],
                checks,
            ),
            NOTE,
        ],
        data,
    )


def main() -> None:
    with server() as url:
        rps = anyio.run(run, url)
    report(rps)


if __name__ == "__main__":
    main()
