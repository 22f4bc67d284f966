"""Shared by the benchmark scripts: interleaved repetitions, tables, saved results.

Every figure is a median with its min-max over several repetitions; cases are
interleaved within each repetition so machine noise hits them alike, and ratios are
computed per repetition before taking their median.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


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


def ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """Per-repetition ratios (both lists come from the same interleaved repetitions)."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def summary(values: Sequence[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):,.{digits}f} "
        f"({min(values):,.{digits}f}-{max(values):,.{digits}f})"
    )


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(c) for c in column) for column in zip(headers, *cells, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    return "\n".join([f"### {title}", "", line, rule, *body])


def save(name: str, tables: list[str], data: dict[str, Any]) -> None:
    """Print the tables and keep them (and the raw numbers) for RESULTS.md."""
    text = "\n\n".join(tables)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text + "\n")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"
