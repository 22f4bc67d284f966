"""What OpenTelemetry costs a call: without the extra, with the API alone, with the SDK.

Single-invoice calls per second at concurrency 1 and 64 against the minimal server of
``bench_http.py`` (limiter off), each set-up in its own process (``_otel_mode.py``):
(a) ``opentelemetry`` not importable, (b) the API installed and no provider configured,
(c) the SDK with spans batched to an in-memory exporter and an in-memory metric reader,
(d) as (c) with a sampler keeping one trace in ten, (e) the client's instrumentation
over a tracer and meter that do nothing. Then, without HTTP, the SDK's own work for one
call in a loop, and that work with the client's instrumentation around it. All run in
turn within each repetition; ratios are per repetition. Besides calls per second, each
process reports its CPU time per call, which the shared machine's load disturbs less:
(c) minus (e) is the SDK's own cost inside a real call, (e) minus (a) ours.
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
    "sampled": "(d) as (c), the sampler keeping one trace in ten",
    "stub": "(e) the client's instrumentation over a tracer and meter doing nothing",
}
LOOPS = {
    "sdk-alone": "the SDK's own work for one call (2 spans, 2 histogram records), no HTTP",
    "instrumented": "the same inside the client's instrumentation (_otel/), no HTTP",
}
CONCURRENCY = {1: 1500, 64: 3000}  # calls per measurement
LOOP_CALLS = 5000
REPETITIONS = 7
GOALS = {"api": 0.98, "sdk": 0.85}  # (b) within 2 % of (a), (c) within 15 %
NOTE = (
    "(a) and (b) run the same code: without a configured provider the client builds no "
    "instrument, so their difference is the machine's noise. (c) adds the OpenTelemetry "
    "SDK's own work per call (two spans through its sampler, attribute checks and batch "
    "processor, two histogram records, and collecting the garbage of the spans the "
    "in-memory exporter keeps) to the client's instrumentation; the last table splits "
    "the added CPU time between the two."
)


async def measure(mode: str, url: str, concurrency: int, calls: int) -> list[float]:
    """``[calls per second, CPU µs per call]`` of one set-up, in its own process."""
    command = [sys.executable, str(MODE_SCRIPT), mode, url, str(concurrency), str(calls)]
    done = await anyio.run_process(command, check=True)
    measured: list[float] = json.loads(done.stdout)
    return measured


async def run(url: str) -> dict[str, dict[str, list[float]]]:
    rps: dict[str, list[float]] = {f"{m}|{c}": [] for m in MODES for c in CONCURRENCY}
    cpu: dict[str, list[float]] = {f"{m}|{c}": [] for m in MODES for c in CONCURRENCY}
    for mode in LOOPS:
        rps[mode], cpu[mode] = [], []
    for _ in range(REPETITIONS):
        for concurrency, calls in CONCURRENCY.items():
            for mode in MODES:
                rate, us = await measure(mode, url, concurrency, calls)
                rps[f"{mode}|{concurrency}"].append(rate)
                cpu[f"{mode}|{concurrency}"].append(us)
        for mode in LOOPS:
            rate, us = await measure(mode, url, 1, LOOP_CALLS)
            rps[mode].append(rate)
            cpu[mode].append(us)
    return {"rps": rps, "cpu_us": cpu}


def differences(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]


def report(data: dict[str, dict[str, list[float]]]) -> None:
    rps, cpu = data["rps"], data["cpu_us"]
    rows = [
        [
            label,
            *(summary(rps[f"{mode}|{c}"], 0) for c in CONCURRENCY),
            *(summary(cpu[f"{mode}|{c}"], 0) for c in CONCURRENCY),
        ]
        for mode, label in MODES.items()
    ]
    headers = [
        "set-up",
        *(f"calls/s c{c}" for c in CONCURRENCY),
        *(f"CPU µs/call c{c}" for c in CONCURRENCY),
    ]
    checks = []
    saved: dict[str, Any] = {**data, "ratios": {}}
    for mode in ("api", "sdk", "sampled", "stub"):
        goal = GOALS.get(mode)
        for c in CONCURRENCY:
            values = ratios(rps[f"{mode}|{c}"], rps[f"absent|{c}"])
            saved["ratios"][f"{mode}/absent|{c}"] = values
            met = "-" if goal is None else verdict(statistics.median(values) >= goal)
            target = "-" if goal is None else f">= {goal}"
            checks.append([f"{mode} / absent", f"c{c}", summary(values, 3), target, met])
    split = []
    for c in CONCURRENCY:
        absent, sdk, stub = cpu[f"absent|{c}"], cpu[f"sdk|{c}"], cpu[f"stub|{c}"]
        sdk_own = differences(sdk, stub)
        best = [a / (a + s) for a, s in zip(absent, sdk_own, strict=True)]
        split += [
            [f"c{c}", "added by (c): (c) - (a)", summary(differences(sdk, absent), 0)],
            [
                f"c{c}",
                "the client's instrumentation: (e) - (a)",
                summary(differences(stub, absent), 0),
            ],
            [f"c{c}", "the SDK's own work: (c) - (e)", summary(sdk_own, 0)],
            [
                f"c{c}",
                "best (c)/(a) the SDK's own work leaves: (a) / ((a) + (c) - (e))",
                summary(best, 3),
            ],
        ]
    for mode, label in LOOPS.items():
        split.append(["loop", label, summary(cpu[mode], 1)])
    save(
        "otel",
        [
            table(
                f"single invoice: calls per second and CPU per call, median (min-max) of "
                f"{REPETITIONS}",
                headers,
                rows,
            ),
            table(
                "Ratios of calls per second per repetition, median (min-max), against the goals",
                ["ratio", "concurrency", "value", "goal", "verdict"],
                checks,
            ),
            table(
                "Where the added CPU time goes, µs per call, median (min-max)",
                ["concurrency", "what", "µs per call"],
                split,
            ),
            NOTE,
        ],
        saved,
    )


def main() -> None:
    with server() as url:
        data = anyio.run(run, url)
    report(data)


if __name__ == "__main__":
    main()
