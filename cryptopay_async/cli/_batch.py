"""``cryptopay batch invoices|payouts FILE``: many creates, exactly once, resumable without state.

Every row carries its own ``custom_id``, so the API itself remembers what was done: a
rerun (after Ctrl-C, a crash, or to completion) finds each earlier object by its
``custom_id`` (a create answered 409, then read back and checked against the row),
creates only what is missing, commits a payout left uncommitted, and reports every
row's final state. Rows run on concurrent workers through the client's shared limiter;
a bad row is reported and the others go on.

Input: CSV (a header row) or JSON Lines, one row per object, columns named as the
arguments of ``invoices.create`` / ``coin_withdrawals.create``. Payouts are created
two-step and then committed. Results: one line per row (``row, custom_id, id, status,
outcome, error``; outcome ``created``, ``already-existed`` or ``failed``), written as
rows finish so an interrupted run leaves what it did.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import anyio
import attrs
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cryptopay_async import (
    APIConnectionError,
    AsyncCryptopay,
    ConflictError,
    CryptopayError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from cryptopay_async.resources import create_recovery
from cryptopay_async.resources._exactly_once import existing

Kind = Literal["invoices", "payouts"]
ClientFactory = Callable[[], AbstractAsyncContextManager[AsyncCryptopay]]

RESULT_FIELDS = ("row", "custom_id", "id", "status", "outcome", "error")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_BOOLEAN_COLUMNS = frozenset({"travel_rule_compliant"})
_JSON_COLUMNS = frozenset({"metadata", "beneficiary"})
# The batch commits payouts itself; force_commit would skip the two steps it reports on.
_REFUSED = {"payouts": frozenset({"force_commit"}), "invoices": frozenset()}


class RowError(ValueError):
    """A row that cannot be sent as it is; the message names the row and the column."""

    def __init__(self, number: int, problem: str, custom_id: str = "") -> None:
        super().__init__(f"row {number}: {problem}")
        self.number = number
        self.custom_id = custom_id


@attrs.frozen
class Row:
    number: int  # 1-based, as a person counts rows of data (CSV header not counted)
    values: dict[str, Any]

    @property
    def custom_id(self) -> str:
        return str(self.values.get("custom_id") or "")


@attrs.define
class Outcome:
    row: int
    custom_id: str
    id: str = ""
    status: str = ""
    outcome: str = "failed"
    error: str = ""


def read_rows(path: Path) -> list[Row | RowError]:
    """Every data row of a CSV or JSON Lines file, or the reason it cannot be read."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip().startswith("{"):
        return list(_json_lines(text))
    return list(_csv_rows(text))


def _json_lines(text: str) -> Iterator[Row | RowError]:
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line, parse_float=Decimal)  # amounts stay exact
        except json.JSONDecodeError as exc:
            yield RowError(number, f"not JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            yield RowError(number, f"a JSON object is needed, got {type(value).__name__}")
            continue
        yield Row(number, {k: v for k, v in value.items() if v is not None})


def _csv_rows(text: str) -> Iterator[Row | RowError]:
    # The csv module splits records itself: quoted newlines stay inside their field, and
    # characters str.splitlines() would break on (U+2028, U+0085) are plain text.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            yield _csv_row(number, record)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        yield RowError(number + 1, f"not CSV ({exc}); the rows after it were not read")


def _csv_row(number: int, record: dict[str | Any, str | Any]) -> Row | RowError:
    if None in record:
        return RowError(number, "more values than columns")
    values: dict[str, Any] = {}
    try:
        for column, raw in record.items():
            if raw is None or raw.strip() == "":
                continue  # an empty cell is an argument not given
            values[column] = _from_text(column, raw.strip())
    except ValueError as exc:
        return RowError(number, str(exc), record.get("custom_id") or "")
    return Row(number, values)


def _from_text(column: str, raw: str) -> Any:
    if column in _BOOLEAN_COLUMNS:
        if raw.lower() not in _BOOLEANS:
            raise ValueError(f"{column} must be true or false, got {raw!r}")
        return _BOOLEANS[raw.lower()]
    if column in _JSON_COLUMNS:
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise ValueError(f"{column} must be a JSON object, got {raw!r}") from None
    return raw


def check_columns(kind: Kind, rows: list[Row | RowError]) -> list[Row | RowError]:
    """Refuse unknown or missing columns and custom_ids used twice, naming the row."""
    create = _create_method(kind)
    parameters = {
        name: p
        for name, p in inspect.signature(create).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    allowed = {name for name in parameters if name not in _REFUSED[kind]}
    required = {name for name, p in parameters.items() if p.default is inspect.Parameter.empty}
    required.add("custom_id")
    first_row: dict[str, int] = {}
    checked: list[Row | RowError] = []
    for row in rows:
        if isinstance(row, RowError):
            checked.append(row)
            continue
        problems = []
        refused = sorted(set(row.values) & _REFUSED[kind])
        if refused:
            problems.append(f"{', '.join(refused)} not accepted: the batch commits each payout")
        unknown = sorted(set(row.values) - allowed - _REFUSED[kind])
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        missing = sorted(required - set(row.values))
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        custom_id = row.values.get("custom_id")
        if custom_id is not None and not isinstance(custom_id, str):
            problems.append("custom_id must be text")
        elif custom_id in first_row:
            problems.append(f"custom_id {custom_id!r} is also on row {first_row[custom_id]}")
        elif custom_id is not None:
            first_row[custom_id] = row.number
        if problems:
            checked.append(RowError(row.number, "; ".join(problems), row.custom_id))
        else:
            checked.append(row)
    return checked


def _create_method(kind: Kind) -> Callable[..., Any]:
    from cryptopay_async.resources import CoinWithdrawals, Invoices

    return Invoices.create if kind == "invoices" else CoinWithdrawals.create


class _DryRun(Exception):
    """Raised by the dry-run client where it would send: the row passed every check."""


async def _refuse_to_send(request: httpx.Request, call_next: Any) -> httpx.Response:
    raise _DryRun


def dry_run_client() -> AsyncCryptopay:
    """A client that checks every argument exactly as for real, then sends nothing."""
    return AsyncCryptopay(
        api_key="dry-run",
        api_secret="dry-run",
        base_url="http://dry-run.invalid",
        rate_limiter=None,
        middleware=[_refuse_to_send],
    )


async def process(client: AsyncCryptopay, kind: Kind, row: Row, dry_run: bool) -> Outcome:
    """One row, tried again after a passing failure; never raises for the row's own errors.

    Trying a whole row again is safe: its create is found by custom_id, its commit is
    checked. A refusal (a bad value, a mismatch, an expired commit) fails the row at once.
    """
    outcome = Outcome(row.number, row.custom_id)
    for attempt in range(ROW_ATTEMPTS):
        try:
            await _row(client, kind, row, dry_run, outcome)
        except _PASSING as exc:
            if attempt + 1 < ROW_ATTEMPTS:
                await anyio.sleep(_pause(exc, attempt))
                continue
            outcome.outcome, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        except (CryptopayError, ValueError, TypeError) as exc:
            outcome.outcome, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        return outcome
    return outcome


ROW_ATTEMPTS = 4
# Failures that say nothing about the row itself: the limit, the server, the network.
_PASSING = (RateLimitError, ServerError, APIConnectionError)


def _pause(error: Exception, attempt: int) -> float:
    retry_after = getattr(error, "retry_after", None)
    if retry_after is None:
        return 2.0**attempt
    # The same cap as the rate-limit step's pause: a server asking for an hour is not
    # obeyed blindly by a batch either.
    return min(float(retry_after), RetryPolicy().max_retry_after)


async def _row(
    client: AsyncCryptopay, kind: Kind, row: Row, dry_run: bool, outcome: Outcome
) -> None:
    if dry_run:
        try:
            await _create(client, kind, row.values)
        except _DryRun:
            outcome.outcome, outcome.status = "valid", "not sent (dry run)"
        return
    try:
        found, outcome.outcome = await _create(client, kind, row.values), "created"
    except ConflictError:  # an earlier run created it: read it back, check it
        operation = "invoices.create" if kind == "invoices" else "coin_withdrawals.create"
        found = await existing(client, create_recovery(operation), row.values)
        if outcome.outcome != "created":  # not made by an earlier try of this row
            outcome.outcome = "already-existed"
    if kind == "payouts" and str(found.status) == "new":
        found = await client.coin_withdrawals.commit(found.id)
    outcome.id, outcome.status = found.id, str(found.status)


async def _create(client: AsyncCryptopay, kind: Kind, values: dict[str, Any]) -> Any:
    if kind == "invoices":
        return await client.invoices.create(**values)
    return await client.coin_withdrawals.create(**values)


class ResultsFile:
    """Results as rows finish: CSV, or JSON Lines when the file name says so."""

    def __init__(self, path: Path, *, json_lines: bool | None = None) -> None:
        self.path = path
        self.json = (
            path.suffix.lower() in (".jsonl", ".ndjson") if json_lines is None else json_lines
        )
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=RESULT_FIELDS)
        if not self.json:
            self._csv.writeheader()
            self._file.flush()

    def write(self, outcome: Outcome) -> None:
        record = attrs.asdict(outcome)
        if self.json:
            self._file.write(json.dumps(record) + "\n")
        else:
            self._csv.writerow(record)
        self._file.flush()

    def close(self, outcomes: list[Outcome]) -> None:
        """Rewrite what was written as rows finished, in row order.

        Written beside it and then renamed over it: a crash while rewriting leaves the
        file written as rows finished, never a truncated one.
        """
        self._file.close()
        sorted_path = self.path.with_name(f".{self.path.name}.sorting")
        replacement = ResultsFile(sorted_path, json_lines=self.json)
        try:
            for outcome in sorted(outcomes, key=lambda o: o.row):
                replacement.write(outcome)
        finally:
            replacement._file.close()
        os.replace(sorted_path, self.path)


async def run_batch(
    kind: Kind,
    source: Path,
    results: Path,
    *,
    client: ClientFactory,
    workers: int,
    dry_run: bool,
    console: Console,
    quiet: bool = False,
    graceful: bool = False,
) -> int:
    """Process every row; 0 if all succeeded (or, dry, all are valid), 1 otherwise.

    With ``graceful`` (the command), Ctrl-C or SIGTERM stops taking rows and returns
    ``INTERRUPTED`` once the rows in flight are done.
    """
    rows = check_columns(kind, read_rows(source))
    stopping = anyio.Event()
    tally: Counter[str] = Counter()
    done: list[Outcome] = []
    out = ResultsFile(results)

    def record(outcome: Outcome) -> None:
        out.write(outcome)
        done.append(outcome)
        tally[outcome.outcome] += 1

    try:
        for problem in (r for r in rows if isinstance(r, RowError)):
            record(Outcome(problem.number, problem.custom_id, error=str(problem)))
            console.print(f"[red]{problem}[/]", markup=True, highlight=False)
        todo = iter([r for r in rows if isinstance(r, Row)])
        factory = (lambda: dry_run_client()) if dry_run else client
        with _progress(console, quiet) as progress:
            task = progress.add_task(f"{kind}", total=len(rows), done="")
            progress.update(task, advance=tally["failed"])
            async with factory() as api:

                async def worker() -> None:
                    for row in todo:
                        if stopping.is_set():
                            return
                        outcome = await process(api, kind, row, dry_run)
                        record(outcome)
                        if outcome.outcome == "failed":
                            console.print(
                                f"row {row.number} ({row.custom_id}): {outcome.error}",
                                markup=False,
                                highlight=False,
                            )
                        summary = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
                        progress.update(task, advance=1, done=summary)

                async with anyio.create_task_group() as outer:
                    if graceful:
                        outer.start_soon(_stop_on_signal, stopping, outer.cancel_scope, console)
                    async with anyio.create_task_group() as tg:
                        for _ in range(workers):
                            tg.start_soon(worker)
                    outer.cancel_scope.cancel()  # all rows done: stop watching for signals
    finally:
        out.close(done)
    line = ", ".join(f"{n} {k}" for k, n in sorted(tally.items())) or "no rows"
    console.print(f"{len(rows)} rows: {line}; results in {results}", markup=False)
    if stopping.is_set():
        return INTERRUPTED
    return 1 if tally["failed"] else 0


INTERRUPTED = 130


async def _stop_on_signal(
    stopping: anyio.Event, scope: anyio.CancelScope, console: Console
) -> None:
    """First Ctrl-C: start no new row, finish those in flight (a payout created is also
    committed, not left to expire). A second one stops at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if stopping.is_set():
                scope.cancel()
                return
            stopping.set()
            console.print(
                "stopping: finishing the rows in flight (Ctrl-C again to stop at once)",
                markup=False,
            )


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[done]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )


batch_app = typer.Typer(
    help=(
        "Create many invoices or payouts from a CSV or JSON Lines file, exactly once: "
        "run it again after an interruption and it finishes the job, creating nothing "
        "twice. Exit 0 when every row succeeded, 3 when a row failed, 2 for a file "
        "that cannot be read (or, with --dry-run, an invalid row), 130 when interrupted."
    ),
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path,
    typer.Argument(
        help="CSV with a header, or JSON Lines; columns named as the API's arguments, "
        "custom_id on every row",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
ResultsOption = Annotated[
    Path | None,
    typer.Option(help="where to write one line per row (default: FILE.results.csv)"),
]
WorkersOption = Annotated[int, typer.Option(min=1, max=100, help="concurrent workers")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="check every row as for real; send nothing")
]


def _register(kind: Kind, summary: str) -> None:
    def command(
        ctx: typer.Context,
        file: FileArgument,
        results: ResultsOption = None,
        workers: WorkersOption = 8,
        dry_run: DryRunOption = False,
    ) -> None:
        _command(ctx, kind, file, results, workers, dry_run)

    command.__doc__ = summary
    batch_app.command(kind)(command)


_register("invoices", "One invoice per row; columns are the arguments of invoices.create.")
_register("payouts", "One payout per row (coin_withdrawals.create arguments), then committed.")


def _command(
    ctx: typer.Context, kind: Kind, file: Path, results: Path | None, workers: int, dry: bool
) -> None:
    from cryptopay_async.cli._common import EXIT_API, EXIT_USAGE, fail

    settings = ctx.obj
    target = results or file.with_name(f"{file.stem}.results.csv")
    console = Console(highlight=False, soft_wrap=True)
    try:
        code = anyio.run(
            lambda: run_batch(
                kind,
                file,
                target,
                client=settings.client,
                workers=workers,
                dry_run=dry,
                console=console,
                quiet=settings.as_json,
                graceful=True,
            )
        )
    except KeyboardInterrupt:
        code = INTERRUPTED
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}", EXIT_USAGE) from None
    if code == INTERRUPTED:
        console.print(
            f"interrupted: the rows finished so far are in {target}; run the same command "
            "again to finish (nothing is created twice)",
            markup=False,
        )
        raise typer.Exit(INTERRUPTED)
    if code:
        raise typer.Exit(EXIT_USAGE if dry else EXIT_API)
