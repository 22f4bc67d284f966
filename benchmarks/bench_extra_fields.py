"""What keeping unknown fields (``extra_fields``) costs: a 100-invoice page, this tree
against a baseline commit, side by side in one run.

Run: ``python benchmarks/bench_extra_fields.py [BASELINE]`` from a git checkout; the
default baseline is ``9328e88``, the last commit before ``extra_fields``. The baseline's
package is exported with ``git archive`` into a temporary directory; each round runs one
worker process per tree, alternately, so machine noise hits both alike. A worker decodes
the same page with both engines (msgspec, cattrs) and reports the median of 7 repetitions
of 100 decodes; the change is the median of the per-round ratios. Reading
``extra_fields`` is not timed: the goal is about decoding.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROUNDS = 5
REPETITIONS = 7
CALLS = 100
GOAL = 0.10
BEFORE = "9328e88"
"""The last commit before ``extra_fields``: the decode time the goal is measured against."""
ENGINES = ("msgspec", "cattrs")


def worker() -> None:
    """In the tree on PYTHONPATH: µs per page for each engine, as one JSON line."""
    import gc
    import time

    import orjson

    import cryptopay_async
    from cryptopay_async._decoding._engines import ENGINES as BUILT
    from cryptopay_async.models import Invoice

    package = Path(cryptopay_async.__file__).resolve().parent
    recorded = json.loads((package / "testing/data/responses-2023/invoices/list.json").read_bytes())
    body = orjson.dumps({"data": (recorded["data"] * 100)[:100], "meta": {"has_more": True}})
    result: dict[str, float] = {}
    for name in ENGINES:
        engine = BUILT[name]
        for _ in range(20):  # warm up: decoders compiled, caches filled
            engine.envelope(body, list[Invoice])
        samples = []
        for _ in range(REPETITIONS):
            gc.collect()
            started = time.perf_counter()
            for _ in range(CALLS):
                engine.envelope(body, list[Invoice])
            samples.append((time.perf_counter() - started) / CALLS * 1e6)
        result[name] = statistics.median(samples)
    result["package"] = str(package)  # type: ignore[assignment]
    print(json.dumps(result))


def export(ref: str, into: Path) -> None:
    """The package of ``ref`` (``git archive``) under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "cryptopay_async"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def run(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker"], env=env, check=True, capture_output=True
    ).stdout
    result: dict[str, float] = json.loads(out)
    assert Path(str(result.pop("package"))).parent == tree.resolve(), "wrong package imported"
    return result


def main() -> None:
    sys.path.insert(0, str(HERE))
    from _harness import summary, table, verdict

    baseline = sys.argv[1] if len(sys.argv) > 1 else BEFORE
    with tempfile.TemporaryDirectory() as temporary:
        base_tree = Path(temporary)
        export(baseline, base_tree)
        before: dict[str, list[float]] = {name: [] for name in ENGINES}
        after: dict[str, list[float]] = {name: [] for name in ENGINES}
        for _ in range(ROUNDS):
            for name, value in run(base_tree).items():
                before[name].append(value)
            for name, value in run(ROOT).items():
                after[name].append(value)
    rows = []
    for name in ENGINES:
        changes = [a / b - 1 for a, b in zip(after[name], before[name], strict=True)]
        change = statistics.median(changes)
        rows.append(
            [
                name,
                summary(before[name]),
                summary(after[name]),
                f"{change:+.1%} ({min(changes):+.1%} to {max(changes):+.1%})",
                verdict(change <= GOAL),
            ]
        )
    print(
        table(
            f"Decode a 100-invoice page, µs per page: {baseline} vs this tree, "
            f"{ROUNDS} alternated rounds, each the median of {REPETITIONS} x {CALLS} decodes",
            ["engine", baseline, "this tree", "change, median of rounds (range)", "within 10 %"],
            rows,
        )
    )


if __name__ == "__main__":
    worker() if sys.argv[1:] == ["--worker"] else main()
