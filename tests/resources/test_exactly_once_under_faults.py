"""Proof under faults: many concurrent money calls against a served emulator that loses answers.

The emulator runs under uvicorn on 127.0.0.1 and, after processing a request, answers
500 instead, drops the connection mid-answer, or answers after the client has given up
(a read timeout): 14 % of all requests, read-backs included. 500 invoice creates and
200 two-step payouts (create, then commit), each with its own custom_id, run from 50
concurrent tasks. Every call must return its object, and the emulator must hold exactly
one object per custom_id and exactly one money movement per payout.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import httpx
import pytest

from cryptopay_async import AsyncCryptopay, CallNext, CryptopayError, RetryPolicy
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread

pytestmark = pytest.mark.anyio

INVOICES, PAYOUTS, TASKS = 500, 200, 50
PERIOD = 0.5  # the 200-per-window limit, on a half-second window so the run stays short
CLIENT_TIMEOUT, LATE_ANSWER = 1.0, 2.0  # the answer comes after the client gave up
FAULT_RATES = {"error_500_rate": 0.05, "drop_rate": 0.05, "delay_rate": 0.04}


class Observed:
    """The caller's middleware: what each attempt (read-backs and repeats included) met."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        kind = "read-back" if "/custom_id/" in request.url.path else request.method
        if request.url.path.endswith("/commit"):
            kind = "commit"
        try:
            response = await call_next(request)
        except CryptopayError as exc:
            self.seen[f"{kind} failed, maybe processed={exc.maybe_processed}"] += 1
            raise
        self.seen[f"{kind} ok"] += 1
        return response


async def test_every_call_returns_once_and_money_moves_once() -> None:
    emulator = CryptopayEmulator(
        # Room above the client's pace: a loaded machine delays grants, and a 429 pause
        # (backing off up to 60 s) would let two-step payouts expire; the limiter's own
        # promise is tested in tests/ratelimit.
        rate_limit=300,
        rate_period=PERIOD,
        faults=Faults(
            error_500_rate=FAULT_RATES["error_500_rate"],
            drop_rate=FAULT_RATES["drop_rate"],
            delay_rate=FAULT_RATES["delay_rate"],
            delay_seconds=LATE_ANSWER,
            seed=12,
        ),
    )
    observed = Observed()
    invoices: dict[str, Any] = {}
    payouts: dict[str, Any] = {}
    with serve_in_thread(emulator.asgi_app, lifespan="off") as url:
        client = AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=url,
            timeout=CLIENT_TIMEOUT,
            rate_limiter=TokenBucket(200, PERIOD, margin=0.05),
            retry_policy=RetryPolicy(initial_backoff=0.05, max_backoff=0.5),
            max_retries=8,
            middleware=[observed],
        )
        jobs = [("invoice", f"INV-{n:04d}") for n in range(INVOICES)]
        jobs += [("payout", f"PAY-{n:04d}") for n in range(PAYOUTS)]
        queue = iter(jobs)

        async def invoice(custom_id: str) -> None:
            invoices[custom_id] = await client.invoices.create(
                price_amount="25.00", price_currency="EUR", pay_currency="BTC", custom_id=custom_id
            )

        async def payout(custom_id: str) -> None:
            created = await client.coin_withdrawals.create(
                address="bc1qexampleaddress",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="20",
                custom_id=custom_id,
            )
            payouts[custom_id] = await client.coin_withdrawals.commit(created.id)

        failures: dict[str, str] = {}

        async def worker() -> None:
            for what, custom_id in queue:
                try:
                    await (invoice if what == "invoice" else payout)(custom_id)
                except CryptopayError as exc:  # reported below, with every other one
                    failures[custom_id] = f"{type(exc).__name__}: {exc}"

        started = anyio.current_time()
        async with client:
            with anyio.fail_after(50):
                async with anyio.create_task_group() as tg:
                    for _ in range(TASKS):
                        tg.start_soon(worker)
        elapsed = anyio.current_time() - started

    # Every caller got its own object back.
    assert failures == {}
    assert sorted(invoices) == [c for w, c in jobs if w == "invoice"]
    assert all(inv.custom_id == cid for cid, inv in invoices.items())
    assert sorted(payouts) == [c for w, c in jobs if w == "payout"]
    assert all(str(p.status) == "pending" and p.custom_id == c for c, p in payouts.items())
    # The emulator holds one object per custom_id, and moved each payout's money once.
    stored = Counter(o["custom_id"] for o in emulator.api.objects["invoices"].values())
    assert stored == Counter(list(invoices))
    withdrawals = Counter(o["custom_id"] for o in emulator.api.objects["coin_withdrawals"].values())
    assert withdrawals == Counter(list(payouts))
    movements = Counter(
        e.custom_id for e in emulator.ledger if e.reference_type == "CoinWithdrawal"
    )
    assert movements == Counter(list(payouts))
    # And the faults did happen, to creates and commits alike.
    ambiguous = {k: n for k, n in observed.seen.items() if k.endswith("processed=True")}
    assert ambiguous.get("POST failed, maybe processed=True", 0) >= 50
    assert ambiguous.get("commit failed, maybe processed=True", 0) >= 10
    print(f"\n{emulator.requests_seen} requests in {elapsed:.1f} s; {dict(observed.seen)}")
    print(f"answers: {emulator.errors_answered}; fault rates: {FAULT_RATES}")
