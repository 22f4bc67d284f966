"""Memory of one more account on a shared pool: ``client.with_options(api_key=..., ...)``.

Run: ``python benchmarks/bench_accounts.py``. Counts what tracemalloc sees allocated
for 1,000 derived clients, each with its own key (so its own default limiter), while
they are all alive.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import save, table

from cryptopay_async import AsyncCryptopay

ACCOUNTS = 1_000
GOAL_KB = 8.0


def per_account_bytes() -> float:
    platform = AsyncCryptopay(api_key="platform-key", api_secret="platform-secret")
    platform.with_options(api_key="warm-up", api_secret="s")  # imports and caches first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    accounts = [
        platform.with_options(api_key=f"shop-{n}", api_secret=f"secret-{n}")
        for n in range(ACCOUNTS)
    ]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(accounts) == ACCOUNTS
    return grown / ACCOUNTS


def main() -> None:
    rounds = [per_account_bytes() for _ in range(3)]
    kb = [value / 1024 for value in rounds]
    worst = max(kb)
    rows = [[f"{ACCOUNTS:,} accounts on one pool", ", ".join(f"{v:.2f}" for v in kb)]]
    tables = [
        table(
            f"KB per account (client.with_options with its own key), 3 rounds; "
            f"goal <= {GOAL_KB:.0f} KB: {'met' if worst <= GOAL_KB else 'NOT met'}",
            ["case", "KB per account"],
            rows,
        )
    ]
    save("accounts", tables, {"kb_per_account": kb, "goal_kb": GOAL_KB})


if __name__ == "__main__":
    main()
