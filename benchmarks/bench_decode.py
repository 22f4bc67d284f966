"""Decode cost of a 100-invoice page: JSON alone, both engines of this SDK, a reference.

Run: ``python -m nox -s bench`` or ``python benchmarks/bench_decode.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import interleaved, ratios, save, summary, table, verdict

from cryptopay_async._decoding._cattrs import structure
from cryptopay_async._decoding._engines import ENGINES
from cryptopay_async.models import Invoice

FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "cryptopay_async/testing/data/responses-2023/invoices/list.json"
)
GOAL_US = 300.0
DEFAULT = "speedups install (msgspec), bytes -> Invoice"


def page_bytes() -> bytes:
    recorded = json.loads(FIXTURE.read_bytes())
    items = (recorded["data"] * 100)[:100]
    return orjson.dumps({"data": items, "meta": {"total": 637, "has_more": True}})


def pydantic_decoder() -> Any:
    """A pydantic v2 model of the same shape, as a reference point (not a dependency)."""
    from datetime import datetime
    from decimal import Decimal

    from pydantic import BaseModel, ConfigDict, TypeAdapter

    class PExchange(BaseModel):
        model_config = ConfigDict(frozen=True)
        pair: str
        rate: Decimal
        fee: Decimal | None = None
        fee_currency: str | None = None

    class PRisk(BaseModel):
        model_config = ConfigDict(frozen=True)
        score: float
        level: str
        resource_name: str | None = None
        resource_category: str | None = None

    class PTransaction(BaseModel):
        model_config = ConfigDict(frozen=True)
        txid: str
        risk: PRisk | None = None

    class PInvoice(BaseModel):
        model_config = ConfigDict(frozen=True)
        id: str
        status: str
        address: str
        price_amount: Decimal
        price_currency: str
        pay_amount: Decimal
        pay_currency: str
        paid_amount: Decimal
        transactions: list[PTransaction]
        created_at: datetime
        expires_at: datetime
        custom_id: str | None = None
        customer_id: str | None = None
        subscription_id: str | None = None
        status_context: str | None = None
        network: str | None = None
        uri: str | None = None
        fee: Decimal | None = None
        fee_currency: str | None = None
        exchange: PExchange | None = None
        name: str | None = None
        description: str | None = None
        metadata: dict[str, str] | None = None
        success_redirect_url: str | None = None
        unsuccess_redirect_url: str | None = None
        hosted_page_url: str | None = None

    return TypeAdapter(list[PInvoice])


def main() -> None:
    body = page_bytes()
    data = orjson.loads(body)["data"]
    invoices = list[Invoice]
    msgspec_engine, cattrs_engine = ENGINES["msgspec"], ENGINES["cattrs"]
    cases = {
        "json.loads (stdlib), bytes -> dicts": lambda: json.loads(body),
        "orjson.loads, bytes -> dicts": lambda: orjson.loads(body),
        DEFAULT: lambda: msgspec_engine.envelope(body, invoices),
        "core install (json + cattrs), bytes -> Invoice": lambda: cattrs_engine.envelope(
            body, invoices
        ),
        "cattrs converter alone, dicts -> Invoice": lambda: structure(data, invoices),
    }
    try:
        adapter = pydantic_decoder()
    except ImportError:
        print("pydantic not installed: reference row left out", file=sys.stderr)
    else:
        cases["pydantic v2 frozen models, dicts -> models"] = lambda: adapter.validate_python(data)
    samples = interleaved(cases, repetitions=7, calls=100)
    ours = statistics.median(samples[DEFAULT])
    rows = [
        [name, summary(values), summary(ratios(values, samples[DEFAULT]), 2)]
        for name, values in samples.items()
    ]
    tables = [
        table(
            f"Decode a 100-invoice page ({len(body):,} bytes), µs per page, "
            f"median (min-max) of 7; goal for the speedups install <= {GOAL_US:.0f} µs: "
            f"{verdict(ours <= GOAL_US)}",
            ["case", "µs per page", "x speedups (per repetition)"],
            rows,
        )
    ]
    save("decode", tables, {"us_per_page": samples, "goal_us": GOAL_US})


if __name__ == "__main__":
    main()
