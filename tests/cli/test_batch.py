"""``cryptopay batch``: rows checked one by one, created once, a rerun finishes the job.

In-process against the emulator for the row outcomes, and as a real process against
the served emulator for Ctrl-C: the interrupted run and its rerun create every object
exactly once and move each payout's money once.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from cryptopay_async import RetryPolicy
from cryptopay_async.cli._batch import (
    Kind,
    Outcome,
    ResultsFile,
    Row,
    RowError,
    Store,
    check_columns,
    read_rows,
    run_batch,
)
from cryptopay_async.cli._batch._run import Rate, _duration, _pause, eta
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

pytestmark = pytest.mark.anyio

INVOICE = {"price_amount": "10.50", "price_currency": "EUR", "pay_currency": "BTC"}
PAYOUT: dict[str, Any] = {
    "address": "bc1qexampleaddress",
    "charged_currency": "EUR",
    "received_currency": "BTC",
    "charged_amount": "20",
}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = sorted({column for row in rows for column in row})
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def results(path: Path) -> dict[int, dict[str, str]]:
    with path.open(newline="") as file:
        return {int(r["row"]): r for r in csv.DictReader(file)}


class Freezer:
    """The served emulator, recording every request, that can freeze a run at a chosen point.

    From the ``hold_from``-th request on (1-based; ``None``: never), every request is held
    unanswered until ``release()``: after the emulator has done it (``processed``, the
    answer lost on the way back) or before it reaches the emulator (then answered 503,
    never done). A run frozen this way stays at that point however busy the machine is,
    so a test can signal or kill it there without racing it.
    """

    def __init__(
        self, emulator: CryptopayEmulator, hold_from: int | None, *, processed: bool = True
    ) -> None:
        self.emulator = emulator
        self.hold_from = hold_from
        self.processed = processed
        self.sent: list[tuple[str, bytearray]] = []  # (path, body) of every request
        self.holding = threading.Event()  # set when the first request is held
        self._released = threading.Event()

    def release(self) -> None:
        """Answer the held requests and hold no more."""
        self.hold_from = None
        self._released.set()

    async def _hold(self) -> None:
        self.holding.set()
        await anyio.to_thread.run_sync(self._released.wait)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self.emulator.asgi_app
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = bytearray()
        self.sent.append((scope["path"], body))
        held = self.hold_from is not None and len(self.sent) >= self.hold_from

        async def receive_recorded() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        async def send_held(message: Any) -> None:
            if message["type"] == "http.response.start":
                await self._hold()
            await send(message)

        if held and not self.processed:
            await self._hold()
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive_recorded, send_held if held else send)


@contextmanager
def served(emulator: CryptopayEmulator, app: Any = None) -> Iterator[dict[str, str]]:
    """The environment of a ``cryptopay`` process talking to the served ``emulator``."""
    with serve_in_thread(app or emulator.asgi_app) as url:
        yield {
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
            "COLUMNS": "100",
        }


def wait_for_line(output: IO[str], start: str) -> str:
    """Read ``output`` up to the first line that begins with ``start``; the lines read."""
    seen = ""
    for line in output:
        seen += line
        if line.startswith(start):
            return seen
    raise AssertionError(f"the process ended without printing {start!r}:\n{seen}")


@pytest.mark.parametrize(
    ("kind", "row", "problem"),
    [
        ("invoices", {"price_amount": "1", "price_currency": "EUR"}, "missing custom_id"),
        ("invoices", {**INVOICE}, "missing custom_id"),
        ("invoices", {**INVOICE, "custom_id": "A", "colour": "red"}, "unknown column(s) colour"),
        ("invoices", {"custom_id": "A", "price_currency": "EUR"}, "missing pay_currency"),
        ("payouts", {**PAYOUT, "custom_id": "P", "force_commit": True}, "force_commit not"),
        ("payouts", {**PAYOUT, "custom_id": 7}, "custom_id must be text"),
    ],
    ids=["no custom_id", "no custom_id (amount given)", "unknown", "missing", "force", "id type"],
)
def test_a_bad_row_is_named_with_its_problem(
    tmp_path: Path, kind: Any, row: dict[str, Any], problem: str
) -> None:
    source = write_jsonl(tmp_path / "rows.jsonl", [row])
    (checked,) = check_columns(kind, read_rows(source))
    assert isinstance(checked, RowError)
    assert str(checked).startswith("row 1: ")
    assert problem in str(checked)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"custom_id": "A"\n', "row 1: not JSON"),
        ("[1, 2]\n", "row 1: a JSON object is needed, got list"),
    ],
)
def test_json_lines_that_are_not_objects_are_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text(text)
    (row,) = read_rows(source)
    assert isinstance(row, RowError)
    assert str(row).startswith(problem)


def test_csv_cells_become_arguments(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(
        "custom_id,travel_rule_compliant,beneficiary,network\n"
        'P1,yes,"{""name"": ""A""}",\n'
        "P2,maybe,,\n"
    )
    first, second = read_rows(source)
    assert first == Row(1, {"custom_id": "P1", "travel_rule_compliant": True,
                            "beneficiary": {"name": "A"}})  # fmt: skip
    assert isinstance(second, RowError)
    assert "travel_rule_compliant must be true or false, got 'maybe'" in str(second)


@pytest.mark.parametrize("cell", ["line one\nline two", "a\u2028b", "a\x85b", "a\r\nb"], ids=repr)
def test_a_quoted_cell_with_a_line_break_stays_in_its_row(tmp_path: Path, cell: str) -> None:
    source = tmp_path / "rows.csv"
    with source.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["custom_id", "name", "price_currency"])
        writer.writerow(["P1", cell, "EUR"])
        writer.writerow(["P2", "plain", "EUR"])
    first, second = read_rows(source)
    assert isinstance(first, Row)
    assert isinstance(second, Row)
    assert first.values["custom_id"] == "P1"
    assert first.values["price_currency"] == "EUR"
    assert second.values["custom_id"] == "P2"


def test_a_custom_id_twice_in_one_file_is_refused_on_the_later_row(tmp_path: Path) -> None:
    rows = [{**INVOICE, "custom_id": "A"}, {**INVOICE, "custom_id": "B"}]
    rows.append({**INVOICE, "custom_id": "A"})
    checked = list(check_columns("invoices", read_rows(write_csv(tmp_path / "rows.csv", rows))))
    assert [type(row).__name__ for row in checked] == ["Row", "Row", "RowError"]
    assert "custom_id 'A' is also on row 1" in str(checked[2])


async def batch(emulator: CryptopayEmulator, kind: Any, source: Path, **options: Any) -> int:
    settings: dict[str, Any] = {"workers": 4, "dry_run": False}
    return await run_batch(
        kind,
        source,
        source.with_suffix(".results.csv"),
        client=lambda: emulator.client(rate_limiter=None),
        console=Console(quiet=True),
        quiet=True,
        **(settings | options),
    )


async def test_a_rerun_sends_nothing_for_the_rows_done_and_reports_every_row(
    tmp_path: Path,
) -> None:
    emulator = CryptopayEmulator()
    rows = [{**INVOICE, "custom_id": f"INV-{n}"} for n in range(12)]
    rows.insert(5, {**INVOICE, "custom_id": "INV-BAD", "price_amount": "ten"})
    source = write_csv(tmp_path / "invoices.csv", rows)
    assert await batch(emulator, "invoices", source) == 1
    first = results(source.with_suffix(".results.csv"))
    sent = emulator.requests_seen
    assert await batch(emulator, "invoices", source) == 1
    second = results(source.with_suffix(".results.csv"))

    assert sent == 12  # one request per invoice row
    assert emulator.requests_seen == sent  # the rerun read the results, sent nothing
    assert [r["outcome"] for r in first.values()].count("created") == 12
    assert "price_amount is not a decimal number: 'ten'" in first[6]["error"]
    assert second == first
    assert list(second) == list(range(1, 14))  # in row order
    assert len(emulator.api.objects["invoices"]) == 12


async def test_a_row_that_differs_from_what_exists_fails_alone(tmp_path: Path) -> None:
    emulator = CryptopayEmulator()
    source = write_csv(tmp_path / "a.csv", [{**INVOICE, "custom_id": "X"}])
    await batch(emulator, "invoices", source)
    changed = write_csv(
        tmp_path / "b.csv",
        [{**INVOICE, "custom_id": "X", "price_amount": "99"}, {**INVOICE, "custom_id": "Y"}],
    )
    assert await batch(emulator, "invoices", changed) == 1
    outcome = results(changed.with_suffix(".results.csv"))
    assert outcome[1]["outcome"] == "failed"
    assert "CustomIdMismatchError" in outcome[1]["error"]
    assert "price_amount: asked 99, found 10.5" in outcome[1]["error"]
    assert outcome[2]["outcome"] == "created"


async def test_payouts_are_created_and_committed_once(tmp_path: Path) -> None:
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": f"PAY-{n}"} for n in range(6)]
    source = write_jsonl(tmp_path / "payouts.jsonl", rows)
    async with emulator.client(rate_limiter=None) as client:  # a run that stopped mid-way
        await client.coin_withdrawals.create(**PAYOUT, custom_id="PAY-0")
    assert await batch(emulator, "payouts", source) == 0
    assert await batch(emulator, "payouts", source) == 0
    outcome = results(source.with_suffix(".results.csv"))
    assert {r["status"] for r in outcome.values()} == {"pending"}
    assert outcome[1]["outcome"] == "already-existed"
    assert {r["outcome"] for n, r in outcome.items() if n > 1} == {"created"}
    for row in rows:
        assert len(emulator.ledger_for(row["custom_id"])) == 1


async def test_dry_run_checks_every_row_and_sends_nothing(tmp_path: Path) -> None:
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": "P1"}, {**PAYOUT, "custom_id": "P2", "charged_amount": "x"}]
    source = write_csv(tmp_path / "payouts.csv", rows)
    assert await batch(emulator, "payouts", source, dry_run=True) == 1
    outcome = results(source.with_suffix(".results.csv"))
    assert outcome[1]["outcome"] == "valid"
    assert outcome[2]["outcome"] == "failed"
    assert emulator.requests_seen == 0


def test_interrupted_run_is_finished_by_running_it_again(tmp_path: Path) -> None:
    """Ctrl-C in the middle, then the same command: every row once, every payout moved once.

    The first Ctrl-C lets the rows in flight finish, so no payout is left created but
    uncommitted (it would expire 30 s later).
    """
    emulator = CryptopayEmulator()
    rows = [{**PAYOUT, "custom_id": f"PAY-{n:03d}"} for n in range(60)]
    source = write_csv(tmp_path / "payouts.csv", rows)
    report = source.with_suffix(".results.csv")
    # frozen at the 31st request: 4 workers have answers for 30, so at least 13 rows done
    freezer = Freezer(emulator, hold_from=31)
    with served(emulator, freezer) as env:
        command = [sys.executable, "-m", "cryptopay_async", "batch", "payouts", str(source)]
        command += ["--workers", "4"]
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert first.stdout is not None
        assert freezer.holding.wait(timeout=120), "the first run sent no 31st request"
        first.send_signal(signal.SIGINT)
        stopping = wait_for_line(first.stdout, "stopping:")
        freezer.release()  # the rows in flight get their answers
        interrupted_out = stopping + first.communicate(timeout=120)[0]
        interrupted = results(report)
        with emulator.lock:  # the rows in flight were finished: no payout left uncommitted
            statuses = [w["status"] for w in emulator.api.objects["coin_withdrawals"].values()]
        assert statuses == ["pending"] * len(interrupted)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 130, interrupted_out
    assert "stopping: finishing the rows in flight" in interrupted_out
    assert "run the same command again to finish" in interrupted_out
    # 13 to 15 rows answered before the freeze, and at most one row in flight per worker
    assert 13 <= len(interrupted) <= 15 + 4
    assert second.returncode == 0, second.stdout + second.stderr
    final = results(report)
    assert list(final) == list(range(1, 61))
    assert {r["status"] for r in final.values()} == {"pending"}
    # every row the first run started was finished and recorded: the rerun did the others
    assert {r["outcome"] for r in final.values()} == {"created"}
    stored = [w["custom_id"] for w in emulator.api.objects["coin_withdrawals"].values()]
    assert sorted(stored) == [row["custom_id"] for row in rows]
    for row in rows:
        assert len(emulator.ledger_for(row["custom_id"])) == 1


def test_dry_run_needs_no_credentials_and_exits_2_for_an_invalid_row(tmp_path: Path) -> None:
    rows = [{**INVOICE, "custom_id": "A"}, {**INVOICE, "custom_id": "B", "price_amount": "-"}]
    source = write_csv(tmp_path / "invoices.csv", rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOPAY_")}
    command = [sys.executable, "-m", "cryptopay_async", "batch", "invoices", str(source)]
    done = subprocess.run(
        [*command, "--dry-run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "row 2 (B): ValueError: price_amount" in done.stdout
    assert [r["outcome"] for r in results(source.with_suffix(".dry-run.csv")).values()] == [
        "valid",
        "failed",
    ]


@given(text=st.text(max_size=400), suffix=st.sampled_from([".csv", ".jsonl"]))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_file_gives_rows_or_row_errors_never_a_crash(
    tmp_path: Path, text: str, suffix: str
) -> None:
    source = tmp_path / f"rows{suffix}"
    source.write_text(text, encoding="utf-8")
    kinds: list[Kind] = ["invoices", "payouts"]
    for kind in kinds:
        for row in check_columns(kind, read_rows(source)):
            assert isinstance(row, Row | RowError)
            if isinstance(row, RowError):
                assert str(row).startswith(f"row {row.number}: ")


def test_a_field_over_the_csv_limit_is_a_row_error(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text("custom_id,description\nA,short\nB," + "x" * 200_000 + "\n")
    first, second = read_rows(source)
    assert isinstance(first, Row)
    assert isinstance(second, RowError)
    assert str(second).startswith("row 2: not CSV (field larger than field limit")


def test_a_crash_while_sorting_the_results_leaves_the_rows_already_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final rewrite in row order must not truncate the results of a finished run."""
    path = tmp_path / "rows.results.csv"
    out = ResultsFile(path)
    outcomes = [Outcome(n, f"P-{n}", id=f"id-{n}", status="pending") for n in (2, 1)]
    for outcome in outcomes:
        out.write(outcome)
    calls = 0
    real_write = ResultsFile.write

    def crash_on_second_row(self: ResultsFile, outcome: Outcome) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        real_write(self, outcome)

    monkeypatch.setattr(ResultsFile, "write", crash_on_second_row)
    with pytest.raises(OSError, match="disk full"):
        out.close(Store())
    assert sorted(results(path)) == [1, 2]


@pytest.mark.parametrize(
    ("retry_after", "attempt", "pause"),
    [(None, 2, 4.0), (3.0, 1, 3.0), (3600.0, 1, RetryPolicy().max_retry_after)],
)
def test_a_batch_waits_no_longer_than_the_rate_limit_step_would(
    retry_after: float | None, attempt: int, pause: float
) -> None:
    error = Exception("429")
    error.retry_after = retry_after  # type: ignore[attr-defined]  # as RateLimitError has
    assert _pause(error, attempt) == pause


@pytest.mark.parametrize(
    ("kind", "rows_left", "rate", "shown"),
    [
        ("invoices", 100, "200/60", "0m30s"),
        ("payouts", 100, "200/60", "1m00s"),
        ("payouts", 100_000, "200/60", "16h40m"),  # the 17 hours at the cap
        ("payouts", 100_000, "100/60", "33h20m"),  # half of the key
        ("invoices", 0, "1/3600", "0m00s"),
    ],
)
def test_the_eta_is_the_rows_left_at_the_least_requests_per_row(
    kind: Kind, rows_left: int, rate: str, shown: str
) -> None:
    assert _duration(eta(kind, rows_left, Rate.parse(rate))) == shown
