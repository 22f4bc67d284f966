"""Resuming a batch: a kill at any point, then the same command, moves every payout once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cryptopay_async.cli._batch import ResultsMismatch, run_batch
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.cli.test_batch import INVOICE, PAYOUT, batch, results, write_csv

pytestmark = pytest.mark.anyio


def test_a_payout_batch_killed_at_a_random_point_is_finished_once_by_a_rerun(
    tmp_path: Path,
) -> None:
    emulator = CryptopayEmulator(faults=Faults(latency=0.02))
    rows = [{**PAYOUT, "custom_id": f"PAY-{n:03d}"} for n in range(40)]
    source = write_csv(tmp_path / "payouts.csv", rows)
    report = source.with_suffix(".results.csv")
    sent: list[tuple[str, bytearray]] = []  # (path, body) of every request served

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await emulator.asgi_app(scope, receive, send)
        body = bytearray()
        sent.append((scope["path"], body))

        async def receive_recorded() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        return await emulator.asgi_app(scope, receive_recorded, send)

    with serve_in_thread(recording) as url:
        env = {
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
        }
        command = [sys.executable, "-m", "cryptopay_async", "batch", "payouts", str(source)]
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        target = random.randint(3, 35)
        deadline = time.monotonic() + 30
        while len(report.read_text().splitlines() if report.exists() else []) <= target:
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        finished = [r for r in results(report).values() if r["outcome"] == "created"]
        before = len(sent)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    final = results(report)
    assert list(final) == list(range(1, 41))
    assert {r["status"] for r in final.values()} == {"pending"}
    with emulator.lock:  # one withdrawal per row, each committed (pending) once
        stored = list(emulator.api.objects["coin_withdrawals"].values())
    assert sorted(w["custom_id"] for w in stored) == [row["custom_id"] for row in rows]
    assert {w["status"] for w in stored} == {"pending"}
    for row in rows:  # one ledger movement per row
        assert len(emulator.ledger_for(row["custom_id"])) == 1
    # the rerun sent nothing about the rows the first run had finished
    rerun = sent[before:]
    assert rerun
    for row in finished:
        for path, body in rerun:
            assert row["id"] not in path
            assert f'"{row["custom_id"]}"'.encode() not in body


async def test_a_results_file_of_another_input_is_refused_before_sending(tmp_path: Path) -> None:
    emulator = CryptopayEmulator()
    first = write_csv(tmp_path / "a.csv", [{**INVOICE, "custom_id": "A"}])
    assert await batch(emulator, "invoices", first) == 0
    other = write_csv(tmp_path / "b.csv", [{**INVOICE, "custom_id": "B"}])
    with pytest.raises(ResultsMismatch, match="custom_id 'A', the file's is 'B'"):
        await run_batch(
            "invoices",
            other,
            first.with_suffix(".results.csv"),
            client=lambda: emulator.client(rate_limiter=None),
            workers=1,
            dry_run=False,
            console=Console(quiet=True),
        )
    assert emulator.requests_seen == 1


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[:-7], id="cut-mid-line"),
        pytest.param(lambda text: text.replace("created", "failed", 1), id="edited-outcome"),
        pytest.param(lambda text: text.replace(",created", ',crea"ted', 1), id="edited-garbage"),
    ],
)
async def test_a_damaged_results_file_creates_nothing_twice(tmp_path: Path, damage: object) -> None:
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": f"P-{n}"} for n in range(5)]
    source = write_csv(tmp_path / "payouts.csv", rows)
    report = source.with_suffix(".results.csv")
    assert await batch(emulator, "payouts", source) == 0
    report.write_text(damage(report.read_text()))  # type: ignore[operator]
    assert await batch(emulator, "payouts", source) == 0
    assert {r["status"] for r in results(report).values()} == {"pending"}
    for row in rows:
        assert len(emulator.ledger_for(row["custom_id"])) == 1


async def test_verify_lists_pages_and_settles_again_a_row_the_api_does_not_know(
    tmp_path: Path,
) -> None:
    emulator = CryptopayEmulator()
    rows = [{**INVOICE, "custom_id": f"INV-{n}"} for n in range(120)]
    source = write_csv(tmp_path / "invoices.csv", rows)
    report = source.with_suffix(".results.csv")
    assert await batch(emulator, "invoices", source) == 0
    first = results(report)
    edited = report.read_text().replace(first[7]["id"], "00000000-0000-4000-8000-000000000000")
    report.write_text(edited)  # a hand edit: row 7 now names an id the API does not have
    before = emulator.requests_seen
    assert await batch(emulator, "invoices", source, verify=True) == 0
    # three list pages of 50 for 120 invoices, then row 7 settled: create (409), read back
    assert emulator.requests_seen - before == 3 + 2
    final = results(report)
    assert final[7]["id"] == first[7]["id"]
    assert final[7]["outcome"] == "already-existed"
    assert len(emulator.api.objects["invoices"]) == 120


def test_sigterm_drops_the_rows_waiting_for_the_rate_and_settles_those_sent(
    tmp_path: Path,
) -> None:
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": f"PAY-{n:03d}"} for n in range(40)]
    source = write_csv(tmp_path / "payouts.csv", rows)
    report = source.with_suffix(".results.csv")
    with serve_in_thread(emulator.asgi_app) as url:
        env = {
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
        }
        command = [sys.executable, "-m", "cryptopay_async", "batch", "payouts", str(source)]
        command += ["--rate", "4/1", "--workers", "8"]
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while len(report.read_text().splitlines() if report.exists() else []) < 4:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.02)
        run.send_signal(signal.SIGTERM)
        # the 8 workers waiting for the rate (2 s of it at most) are let go at once
        output, _ = run.communicate(timeout=30)
        with emulator.lock:
            stored = list(emulator.api.objects["coin_withdrawals"].values())
    assert run.returncode == 130, output
    assert "not started" in output
    done = results(report)
    assert len(done) == len(stored) < 40
    assert {w["status"] for w in stored} == {"pending"}  # every payout created is committed
