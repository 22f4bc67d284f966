"""Resuming a batch: a kill at any point, then the same command, moves every payout once."""

from __future__ import annotations

import csv
import io
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console

from cryptopay_async.cli._batch import Kind, ResultsMismatch, run_batch
from cryptopay_async.testing import CryptopayEmulator
from tests.cli.test_batch import (
    INVOICE,
    PAYOUT,
    Freezer,
    batch,
    results,
    served,
    write_csv,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("processed", [True, False], ids=["answer-lost", "never-arrived"])
def test_a_payout_batch_killed_at_a_random_point_is_finished_once_by_a_rerun(
    tmp_path: Path, processed: bool
) -> None:
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": f"PAY-{n:03d}"} for n in range(40)]
    source = write_csv(tmp_path / "payouts.csv", rows)
    report = source.with_suffix(".results.csv")
    kill_at = random.randint(1, 2 * len(rows))  # a create or a commit of some row
    freezer = Freezer(emulator, hold_from=kill_at, processed=processed)
    with served(emulator, freezer) as env:
        command = [sys.executable, "-m", "cryptopay_async", "batch", "payouts", str(source)]
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        assert freezer.holding.wait(timeout=120), f"the first run sent no request {kill_at}"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        freezer.release()
        # a row is finished when its line is complete (a kill may cut the last one off)
        text = report.read_text() if report.exists() else ""
        lines = csv.DictReader(io.StringIO(text[: text.rfind("\n") + 1]))
        finished = [r for r in lines if r["outcome"] == "created"]
        before = len(freezer.sent)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, f"killed at request {kill_at}: {second.stdout}{second.stderr}"
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
    rerun = freezer.sent[before:]
    assert rerun, f"killed at request {kill_at}"
    for row in finished:
        for path, body in rerun:
            assert row["id"] not in path, f"killed at request {kill_at}"
            assert f'"{row["custom_id"]}"'.encode() not in body, f"killed at request {kill_at}"


@pytest.mark.parametrize(
    ("kind", "rows", "problem"),
    [
        ("invoices", [{**INVOICE, "custom_id": "B"}], "custom_id 'A', the file's is 'B'"),
        ("payouts", [{**PAYOUT, "custom_id": "A"}], "a batch of invoices, not of payouts"),
        ("invoices", [], "it has row 1, the file has 0 rows"),
    ],
    ids=["other-custom-ids", "other-kind", "fewer-rows"],
)
async def test_a_results_file_of_another_input_is_refused_before_sending(
    tmp_path: Path, kind: Kind, rows: list[dict[str, Any]], problem: str
) -> None:
    emulator = CryptopayEmulator()
    first = write_csv(tmp_path / "a.csv", [{**INVOICE, "custom_id": "A"}])
    assert await batch(emulator, "invoices", first) == 0
    other = tmp_path / "b.csv"
    other.write_text("custom_id\n") if not rows else write_csv(other, rows)
    with pytest.raises(ResultsMismatch, match=re.escape(problem)):
        await run_batch(
            kind,
            other,
            first.with_suffix(".results.csv"),
            client=lambda: emulator.client(rate_limiter=None),
            workers=1,
            dry_run=False,
            console=Console(quiet=True),
        )
    assert emulator.requests_seen == 1


def test_a_dry_run_never_writes_over_a_real_runs_results(tmp_path: Path) -> None:
    emulator = CryptopayEmulator()
    source = write_csv(tmp_path / "invoices.csv", [{**INVOICE, "custom_id": "A"}])
    report = source.with_suffix(".results.csv")
    assert anyio.run(batch, emulator, "invoices", source) == 0
    real = report.read_bytes()
    command = [sys.executable, "-m", "cryptopay_async", "batch", "invoices", str(source)]
    done = subprocess.run(
        [*command, "--dry-run", "--results", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "holds the results of a real run; a dry run never writes over them" in done.stderr
    assert report.read_bytes() == real


@pytest.mark.parametrize("rate", ["100", "0/60", "100/0", "-1/60", "a/b", "100/inf", "/60"])
def test_a_rate_that_is_not_requests_per_seconds_is_refused(tmp_path: Path, rate: str) -> None:
    source = write_csv(tmp_path / "invoices.csv", [{**INVOICE, "custom_id": "A"}])
    command = [sys.executable, "-m", "cryptopay_async", "batch", "invoices", str(source)]
    done = subprocess.run(
        [*command, "--dry-run", "--rate", rate], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"--rate: a rate is REQUESTS/SECONDS, e.g. 100/60, got {rate!r}" in done.stderr
    assert not source.with_suffix(".dry-run.csv").exists()


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
    with served(emulator) as env:
        command = [sys.executable, "-m", "cryptopay_async", "batch", "payouts", str(source)]
        # 4 requests at once, then one every 15 minutes: two rows go, the others wait
        command += ["--rate", "4/3600", "--workers", "8"]
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert run.stdout is not None
        while len(report.read_text().splitlines() if report.exists() else []) < 1 + 2:
            assert run.poll() is None, run.communicate()[0]
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        # the rows waiting for the rate sent nothing: they are dropped at once
        output = run.communicate(timeout=120)[0]
        with emulator.lock:
            stored = list(emulator.api.objects["coin_withdrawals"].values())
    assert run.returncode == 130, output
    assert "2 created, 38 not started" in output
    assert len(results(report)) == len(stored) == 2
    assert {w["status"] for w in stored} == {"pending"}  # every payout created is committed
