"""No payment missed, none credited twice: callbacks lost, repeated and reordered, the app killed.

The emulator is served in its own process and loses half of the callbacks, repeats a
fifth and holds back a third. The shop (``examples/catching_up.py``) runs on uvicorn
in its own process, with callbacks and a background sweep feeding one handler. 200
invoices meet every fate, 50 payouts complete or fail, channels receive payments. The
shop is killed with SIGKILL while a sweep is under way and started again. Once every
callback was delivered or given up and a sweep has finished that started after the last
change and after the killed process's claims lapsed, the shop has credited exactly the
completed invoices, once each, and handed every object's final state. No state was
handed twice, except one whose handler was still running when the kill landed (its
claim was never kept, so "handled" never became true): that one is handed once more.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
import redis

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import state_key
from cryptopay_async.callbacks._redis_store import DEFAULT_PREFIX, LEASED
from cryptopay_async.callbacks._sweeper import invoice_event, payment_event, withdrawal_event
from cryptopay_async.testing._server import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ["--callback-drop-rate", "0.5", "--callback-duplicate-rate", "0.2"]
FAULTS += ["--callback-reorder-rate", "0.3", "--seed", "20"]
FATES = {"expired": 40, "exact": 60, "partly, then completed": 40, "over": 30, "unpaid": 30}
PAYOUTS = {"completed": 30, "failed": 20}
CHANNELS, PAYMENTS_PER_CHANNEL = 3, 5
SWEEP_EVERY = "0.5"
LEASE = 3.0  # seconds a killed worker's unfinished claim blocks its state


@contextmanager
def emulator_process(callback_url: str) -> Iterator[dict[str, str]]:
    """``python -m cryptopay_async.testing serve`` losing callbacks; its settings."""
    command = [sys.executable, "-m", "cryptopay_async.testing", "serve", "--port", "0"]
    command += ["--rate-limit", "100000", "--callback-url", callback_url]
    command += ["--callback-time-scale", "0.0005", *FAULTS]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        settings = dict(word.split("=", 1) for word in shlex.split(line)[1:])
        yield settings
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def start_shop(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.integrations.catching_up_server"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, str(port), SWEEP_EVERY, str(LEASE)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the shop did not start")


async def build_world(
    client: AsyncCryptopay, control: httpx.AsyncClient
) -> tuple[set[str], list[str]]:
    """Every fate; the ids of the invoices that end completed, and every object id."""
    completed: set[str] = set()
    everything: list[str] = []

    async def new_invoice() -> Any:
        invoice = await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )
        everything.append(invoice.id)
        return invoice

    async def pay(invoice_id: str, amount: Decimal | None = None) -> None:
        body = {} if amount is None else {"amount": str(amount)}
        answer = await control.post(f"/invoices/{invoice_id}/pay", json=body)
        answer.raise_for_status()

    for _ in range(FATES["expired"]):
        await new_invoice()
    (await control.post("/clock/advance", json={"seconds": 11 * 60})).raise_for_status()
    for _ in range(FATES["exact"]):
        invoice = await new_invoice()
        await pay(invoice.id)
        completed.add(invoice.id)
    for _ in range(FATES["partly, then completed"]):
        invoice = await new_invoice()
        await pay(invoice.id, invoice.pay_amount / 2)
        await client.invoices.create_recalculation(invoice.id, force_commit=True)
        completed.add(invoice.id)
    for _ in range(FATES["over"]):
        invoice = await new_invoice()
        await pay(invoice.id, invoice.pay_amount * 2)
    for _ in range(FATES["unpaid"]):
        await new_invoice()
    for fate, count in PAYOUTS.items():
        for _ in range(count):
            payout = await client.coin_withdrawals.create(
                address="bc1qexample",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="5",
                force_commit=True,
            )
            everything.append(payout.id)
            verb = "complete" if fate == "completed" else "fail"
            (await control.post(f"/coin_withdrawals/{payout.id}/{verb}")).raise_for_status()
    for _ in range(CHANNELS):
        channel = await client.channels.create(
            name="deposits", pay_currency="BTC", receiver_currency="EUR"
        )
        for _ in range(PAYMENTS_PER_CHANNEL):
            answer = await control.post(f"/channels/{channel.id}/pay", json={"amount": "0.001"})
            everything.append(answer.json()["data"]["id"])
    return completed, everything


async def final_states(client: AsyncCryptopay) -> dict[str, str]:
    """Object id -> the state key of what it is now, read back."""
    states = {i.id: state_key(invoice_event(i)) async for i in client.invoices.list()}
    async for payout in client.coin_withdrawals.list():
        states[payout.id] = state_key(withdrawal_event(payout))
    async for channel in client.channels.list():
        async for payment in client.channels.list_payments(channel.id):
            states[payment.id] = state_key(payment_event(payment))
    return states


def checkpoint(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return loaded


def states_in_progress(redis_url: str) -> set[str]:
    """The state keys claimed in Redis and never kept: their handlers did not return."""
    with redis.Redis.from_url(redis_url) as connection:
        keys = list(connection.scan_iter(f"{DEFAULT_PREFIX}*"))
        values = connection.mget(keys) if keys else []
    leased = {
        key.decode() for key, value in zip(keys, values, strict=True) if value == LEASED.encode()
    }
    return {key.removeprefix(DEFAULT_PREFIX) for key in leased}


def wait_for_a_sweep_under_way(path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sweep = checkpoint(path).get("sweep") or {}
        if sweep.get("step") in ("invoices", "coin_withdrawals", "channels"):
            return sweep
        time.sleep(0.01)
    raise AssertionError("no sweep was seen under way")


async def test_no_payment_missed_none_credited_twice(redis_url: str, tmp_path: Path) -> None:
    shop_port = free_port()
    database, sweep_file, log = tmp_path / "shop.db", tmp_path / "sweep.json", tmp_path / "log"
    with emulator_process(f"http://127.0.0.1:{shop_port}/cryptopay/callbacks") as settings:
        env = {
            **settings,
            "SHOP_DATABASE": str(database),
            "SHOP_REDIS_URL": redis_url,
            "SHOP_CHECKPOINT": str(sweep_file),
        }
        url = settings["CRYPTOPAY_BASE_URL"]
        shop = start_shop(shop_port, env, log)
        try:
            async with (
                AsyncCryptopay(
                    api_key=settings["CRYPTOPAY_API_KEY"],
                    api_secret=settings["CRYPTOPAY_API_SECRET"],
                    base_url=url,
                    rate_limiter=None,
                ) as client,
                httpx.AsyncClient(base_url=f"{url}/_emulator", timeout=30) as control,
            ):
                completed, everything = await build_world(client, control)
                changed_last = datetime.now(UTC)
                # Killed while a sweep is under way, then started again.
                killed_in = await anyio.to_thread.run_sync(wait_for_a_sweep_under_way, sweep_file)
                os.kill(shop.pid, signal.SIGKILL)
                shop.wait(timeout=10)
                in_progress = states_in_progress(redis_url)
                shop = start_shop(shop_port, env, log)
                lapsed = datetime.now(UTC) + timedelta(seconds=LEASE)
                with anyio.fail_after(180):
                    while True:
                        report = (await control.get("/webhooks")).json()["data"]
                        settled = all(d["delivered"] or d["abandoned"] for d in report)
                        done = checkpoint(sweep_file).get("last_complete")
                        fresh = done and datetime.fromisoformat(done) > max(changed_last, lapsed)
                        if settled and fresh:
                            break
                        await anyio.sleep(0.1)
                states = await final_states(client)
        finally:
            shop.send_signal(signal.SIGTERM)
            shop.wait(timeout=20)
    with sqlite3.connect(database) as db:
        credited = [row[0] for row in db.execute("SELECT invoice_id FROM credits")]
        handled = Counter(row[0] for row in db.execute("SELECT state FROM handled"))
    assert sorted(credited) == sorted(completed)  # each paid invoice once, no other
    twice = {key: times for key, times in handled.items() if times > 1}
    # Only a state whose handler the kill interrupted is handed again, and only once.
    assert {key: times for key, times in twice.items() if key not in in_progress or times > 2} == {}
    assert set(everything) == set(states)
    missed = [object_id for object_id, key in states.items() if key not in handled]
    assert missed == []  # every object's final state was handed
    lost = [d for d in report if d["outcomes"] == ["dropped"]]
    repeated = Counter(d["body"] for d in report if d["outcomes"] != ["dropped"])
    print(
        f"\nobjects {len(states)}, callbacks queued {len(report)}, lost {len(lost)}, "
        f"queued twice {sum(1 for n in repeated.values() if n > 1)}, states handed "
        f"{sum(handled.values())}, credits {len(credited)}, killed at step "
        f"{killed_in.get('step')}, handlers interrupted {len(in_progress)}"
    )
