"""Interleaved repetitions and a plain-text table: medians with min-max, never one run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Microseconds per call of ``fn``, averaged over ``calls`` back-to-back calls."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def interleaved(
    cases: dict[str, Callable[[], object]], *, repetitions: int = 7, calls: int = 200
) -> dict[str, list[float]]:
    """Run every case once per repetition, in turn, so drift hits all cases alike."""
    for fn in cases.values():
        fn()  # warm up: compile decoders, fill caches
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repetitions):
        for name, fn in cases.items():
            samples[name].append(per_call_us(fn, calls))
    return samples


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join([f"### {title}", "", line, rule, *body])


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})"
