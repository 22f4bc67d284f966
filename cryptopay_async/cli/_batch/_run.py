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
import json
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from cryptopay_async.cli._batch._results import (
    DONE,
    DRY_STATUS,
    Outcome,
    ResultsFile,
    ResultsMismatch,
    Store,
    holds_a_real_run,
    recorded,
)
from cryptopay_async.cli._batch._verify import verify as verify_done
from cryptopay_async.cli._common import EXIT_API, EXIT_USAGE, fail
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.resources import Resources, create_recovery
from cryptopay_async.resources._exactly_once import existing
from cryptopay_async.resources._sender import CallOptions

Kind = Literal["invoices", "payouts"]
ClientFactory = Callable[[], AbstractAsyncContextManager[AsyncCryptopay]]

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


def read_rows(path: Path) -> Iterator[Row | RowError]:
    """Every data row of a CSV or JSON Lines file, or the reason it cannot be read.

    Streamed: one row in memory at a time, whatever the size of the file.
    """
    with path.open(encoding="utf-8-sig", newline="") as text:
        start = text.read(4096).lstrip()
        text.seek(0)
        if path.suffix.lower() in (".jsonl", ".ndjson") or start.startswith("{"):
            yield from _json_lines(text)
        else:
            yield from _csv_rows(text)


def _json_lines(lines: Iterable[str]) -> Iterator[Row | RowError]:
    number = 0
    for line in lines:
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


def _csv_rows(text: IO[str]) -> Iterator[Row | RowError]:
    # The csv module splits records itself: quoted newlines stay inside their field, and
    # characters str.splitlines() would break on (U+2028, U+0085) are plain text.
    reader = csv.DictReader(text)
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


def check_columns(
    kind: Kind, rows: Iterable[Row | RowError], seen: Store | None = None
) -> Iterator[Row | RowError]:
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
    seen = seen or Store()
    for row in rows:
        if isinstance(row, RowError):
            yield row
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
        elif custom_id is not None and (first := seen.first_row_of(custom_id, row.number)):
            problems.append(f"custom_id {custom_id!r} is also on row {first}")
        if problems:
            yield RowError(row.number, "; ".join(problems), row.custom_id)
        else:
            yield row


def _create_method(kind: Kind) -> Callable[..., Any]:
    from cryptopay_async.resources import CoinWithdrawals, Invoices

    return Invoices.create if kind == "invoices" else CoinWithdrawals.create


class _DryRun(Exception):
    """Raised by the dry-run client where it would send: the row passed every check."""


class _RefuseToSend:
    """A ``Sender`` that raises ``_DryRun`` where a client would send.

    The resources over it check every argument and build the body exactly as for real
    (``Operation.target``, ``Operation.body_bytes``); no request object is ever built.
    """

    retry_policy = RetryPolicy()

    async def send(
        self, method: str, target: str, body: bytes | None, options: CallOptions | None = None
    ) -> httpx.Response:
        raise _DryRun


@asynccontextmanager
async def dry_run_client() -> AsyncIterator[Resources]:
    """Resources that check every argument exactly as for real, then send nothing."""
    yield Resources(_RefuseToSend())


async def process(
    client: AsyncCryptopay | Resources,
    kind: Kind,
    row: Row,
    dry_run: bool,
    calls: list[int] | None = None,
) -> Outcome:
    """One row, tried again after a passing failure; never raises for the row's own errors.

    Trying a whole row again is safe: its create is found by custom_id, its commit is
    checked. A refusal (a bad value, a mismatch, an expired commit) fails the row at once.
    """
    outcome = Outcome(row.number, row.custom_id)
    for attempt in range(ROW_ATTEMPTS):
        try:
            await _row(client, kind, row, dry_run, outcome, calls or [0])
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
    client: AsyncCryptopay | Resources,
    kind: Kind,
    row: Row,
    dry_run: bool,
    outcome: Outcome,
    calls: list[int],
) -> None:
    if dry_run:
        outcome.status = DRY_STATUS
        try:
            await _create(client, kind, row.values)
        except _DryRun:
            outcome.outcome = "valid"
        return
    calls[0] += 1
    try:
        found, outcome.outcome = await _create(client, kind, row.values), "created"
    except ConflictError:  # an earlier run created it: read it back, check it
        calls[0] += 1
        operation = "invoices.create" if kind == "invoices" else "coin_withdrawals.create"
        found = await existing(client, create_recovery(operation), row.values)
        if outcome.outcome != "created":  # not made by an earlier try of this row
            outcome.outcome = "already-existed"
    if kind == "payouts" and str(found.status) == "new":
        calls[0] += 1
        found = await client.coin_withdrawals.commit(found.id)
    outcome.id, outcome.status = found.id, str(found.status)


async def _create(client: AsyncCryptopay | Resources, kind: Kind, values: dict[str, Any]) -> Any:
    if kind == "invoices":
        return await client.invoices.create(**values)
    return await client.coin_withdrawals.create(**values)


@attrs.frozen
class Rate:
    """At most ``requests`` per ``seconds`` for the batch (``--rate 100/60``)."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        requests, _, seconds = text.partition("/")
        try:
            rate = cls(int(requests), float(seconds or "nan"))
        except ValueError:
            rate = cls(0, 0.0)
        if not (rate.requests > 0 and 0 < rate.seconds < float("inf")):
            raise ValueError(f"a rate is REQUESTS/SECONDS, e.g. 100/60, got {text!r}")
        return rate


def key_rate(limiter: Any) -> Rate | None:
    """The rate of a client's limiter, when it says (TokenBucket, RedisTokenBucket)."""
    current = getattr(limiter, "current", None)
    limiter = current() if callable(current) else limiter
    requests, seconds = getattr(limiter, "rate", None), getattr(limiter, "period", None)
    if isinstance(requests, int) and isinstance(seconds, float):
        return Rate(requests, seconds)
    return None


# Requests a row needs with no fault: the create, and for a payout its commit.
REQUESTS_PER_ROW: dict[Kind, int] = {"invoices": 1, "payouts": 2}


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
    rate: Rate | None = None,
    verify: bool = False,
) -> int:
    """Process every row not done by an earlier run; 0 if all succeeded (or, dry, all are
    valid), 1 otherwise.

    A real run reads ``results`` first: rows recorded there as done (with their object id)
    are skipped without a request, and new lines are appended. A results file of another
    input or kind raises ``ResultsMismatch`` before anything is sent; a dry run refuses a
    results file that holds a real run's results.

    With ``graceful`` (the command), Ctrl-C or SIGTERM drops the rows that have sent
    nothing yet (reported as not started), settles those in flight and returns
    ``INTERRUPTED``. With ``verify``, the rows recorded as done are first checked against
    the API's list pages; those it does not confirm are settled again.
    """
    with tempfile.TemporaryDirectory(prefix="cryptopay-batch-") as scratch:
        store = Store(Path(scratch))
        try:
            return await _run(
                kind,
                source,
                results,
                store,
                client,
                workers,
                dry_run,
                console,
                quiet,
                graceful,
                rate,
                verify,
            )
        finally:
            store.close()


async def _run(
    kind: Kind,
    source: Path,
    results: Path,
    store: Store,
    client: ClientFactory,
    workers: int,
    dry_run: bool,
    console: Console,
    quiet: bool,
    graceful: bool,
    rate: Rate | None,
    verify: bool,
) -> int:
    total: int | None = None
    if dry_run:
        if holds_a_real_run(results):
            raise ResultsMismatch(
                f"{results} holds the results of a real run; a dry run never writes over "
                "them: give --results another file"
            )
    else:
        store.load_prior(recorded(results), kind, results)
        total = _check_prior_belongs(store, source, results)  # also counts the rows
    stopping = anyio.Event()
    tally: Counter[str] = Counter()
    unsent: set[anyio.CancelScope] = set()
    out = ResultsFile(results, append=not dry_run)
    todo = check_columns(kind, read_rows(source), store)
    started = time.monotonic()
    sent_before = 0
    calls = [0]  # requests the rows asked for (the client's own retries not counted)

    def record(outcome: Outcome) -> None:
        outcome.kind = kind
        out.write(outcome)
        tally[outcome.outcome] += 1

    try:
        factory: Callable[[], AbstractAsyncContextManager[AsyncCryptopay | Resources]]
        factory = dry_run_client if dry_run else client
        async with factory() as api:
            limit = rate or (
                key_rate(api.rate_limiter) if isinstance(api, AsyncCryptopay) else None
            )
            gate = TokenBucket(rate.requests, rate.seconds) if rate else None
            # A row takes all its requests' slots in one turn: slots taken one at a time
            # by concurrent workers would leave each holding part of a row, all waiting.
            row_turn = anyio.Lock()
            if verify and isinstance(api, AsyncCryptopay):
                await _verify(api, kind, store, console)
            with _progress(console, quiet) as progress:
                task = progress.add_task(kind, total=total, done="")

                def show() -> None:
                    handled = sum(tally.values())
                    left = None if total is None else total - handled
                    line = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
                    elapsed = time.monotonic() - started
                    line += f"; {calls[0] / elapsed if elapsed else 0:.1f} req/s"
                    if left is not None and limit is not None:
                        line += f"; {left} left, ETA {_duration(eta(kind, left, limit))}"
                    progress.update(task, completed=handled, done=line)

                async def worker() -> None:
                    for row in todo:
                        if stopping.is_set():
                            tally["not started"] += 1
                            continue
                        if isinstance(row, RowError):
                            record(Outcome(row.number, row.custom_id, error=str(row)))
                            if dry_run:
                                tally["failed"] -= 1
                                tally["invalid"] += 1
                            console.print(f"[red]{row}[/]", markup=True, highlight=False)
                        elif _done_before(store, kind, row):
                            tally["done before"] += 1
                        else:
                            await _one(row)
                        show()

                async def _one(row: Row) -> None:
                    if gate is not None:
                        with anyio.CancelScope() as waiting:
                            unsent.add(waiting)
                            async with row_turn:
                                for _ in range(REQUESTS_PER_ROW[kind]):
                                    await gate.acquire()
                        unsent.discard(waiting)
                        if waiting.cancel_called:
                            tally["not started"] += 1
                            return
                    outcome = await process(api, kind, row, dry_run, calls)
                    record(outcome)
                    if outcome.outcome == "failed":
                        console.print(
                            f"row {row.number} ({row.custom_id}): {outcome.error}",
                            markup=False,
                            highlight=False,
                        )

                def stop() -> None:
                    stopping.set()
                    for scope in unsent:
                        scope.cancel()

                async with anyio.create_task_group() as outer:
                    if graceful:
                        outer.start_soon(_stop_on_signal, stop, outer.cancel_scope, console)
                    async with anyio.create_task_group() as tg:
                        for _ in range(workers):
                            tg.start_soon(worker)
                    outer.cancel_scope.cancel()  # all rows done: stop watching for signals
                sent_before = calls[0]
    finally:
        out.close(store)
    handled = sum(tally.values())
    line = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()) if n) or "no rows"
    console.print(f"{handled} rows: {line}; results in {results}", markup=False)
    if not dry_run:
        console.print(
            _summary(kind, tally, sent_before, time.monotonic() - started, limit), markup=False
        )
    if stopping.is_set():
        return INTERRUPTED
    return 1 if tally["failed"] or tally["invalid"] else 0


async def _verify(api: AsyncCryptopay, kind: Kind, store: Store, console: Console) -> None:
    checked = await verify_done(api, kind, store)
    pages = -(-checked.listed // 50)
    console.print(
        f"verify: {checked.checked} rows recorded as done, {checked.listed} objects listed "
        f"(about {pages} request{'' if pages == 1 else 's'}), {len(checked.unknown)} unknown",
        markup=False,
    )
    for row, custom_id in checked.unknown:
        console.print(
            f"row {row} ({custom_id}): recorded as done, but the API does not list it "
            "with that id; settling it again by its custom_id",
            markup=False,
        )


def eta(kind: Kind, rows_left: int, limit: Rate) -> float:
    """Seconds the rows left need at ``limit`` with no fault (the least requests per row)."""
    return rows_left * REQUESTS_PER_ROW[kind] * limit.seconds / limit.requests


def _summary(kind: Kind, tally: Counter[str], sent: int, wall: float, limit: Rate | None) -> str:
    worked = tally["created"] + tally["already-existed"] + tally["failed"]
    per_row = f"{sent / worked:.2f}" if worked else "-"
    line = f"{sent} requests, {per_row} per row sent (least: {REQUESTS_PER_ROW[kind]})"
    if limit is not None:
        least = max(0, sent - limit.requests) * limit.seconds / limit.requests
        cap = f"{limit.requests}/{limit.seconds:g}s"
        line += f"; wall time {_duration(wall)}, least at {cap}: {_duration(least)}"
    return line


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _done_before(store: Store, kind: Kind, row: Row) -> bool:
    prior = store.prior(row.number)
    if prior is None:
        return False
    custom_id, object_id, status, outcome = prior
    return (
        custom_id == row.custom_id
        and bool(object_id)
        and outcome in DONE
        and not (kind == "payouts" and status == "new")  # created, not yet committed
    )


def _check_prior_belongs(store: Store, source: Path, results: Path) -> int:
    """Refuse results whose rows hold other custom_ids than ``source``; count its rows."""
    rows = 0
    for row in read_rows(source):
        rows = row.number
        prior = store.prior(row.number)
        custom_id = row.custom_id
        if prior is not None and prior[0] and custom_id and prior[0] != custom_id:
            raise ResultsMismatch(
                f"{results} is not the results of {source}: its row {row.number} is "
                f"custom_id {prior[0]!r}, the file's is {custom_id!r}; give --results "
                "another file"
            )
    if store.last_prior_row() > rows:
        raise ResultsMismatch(
            f"{results} is not the results of {source}: it has row "
            f"{store.last_prior_row()}, the file has {rows} rows; give --results another file"
        )
    return rows


INTERRUPTED = 130


async def _stop_on_signal(
    stop: Callable[[], None], scope: anyio.CancelScope, console: Console
) -> None:
    """First Ctrl-C or SIGTERM: drop the rows that sent nothing yet, finish those in
    flight (a payout created is also committed, not left to expire). A second one stops
    at once."""
    stopped = False
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if stopped:
                scope.cancel()
                return
            stopped = True
            stop()
            console.print(
                "stopping: finishing the rows in flight, starting no other "
                "(Ctrl-C again to stop at once)",
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
RateOption = Annotated[
    str | None,
    typer.Option(
        envvar="CRYPTOPAY_BATCH_RATE",
        help="at most N requests per SECONDS for this batch (e.g. 100/60 leaves half of "
        "the key to the live service); the key's own limit still holds for everything",
        metavar="N/SECONDS",
    ),
]
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify",
        help="first check the rows recorded as done against the API's lists "
        "(about one request per 50 objects) and settle again any it does not know",
    ),
]
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
        rate: RateOption = None,
        verify: VerifyOption = False,
    ) -> None:
        _command(ctx, kind, file, results, workers, dry_run, rate, verify)

    command.__doc__ = summary
    batch_app.command(kind)(command)


_register("invoices", "One invoice per row; columns are the arguments of invoices.create.")
_register("payouts", "One payout per row (coin_withdrawals.create arguments), then committed.")


def _command(
    ctx: typer.Context,
    kind: Kind,
    file: Path,
    results: Path | None,
    workers: int,
    dry: bool,
    rate_text: str | None,
    verify: bool,
) -> None:
    settings = ctx.obj
    try:
        rate = Rate.parse(rate_text) if rate_text else None
    except ValueError as exc:
        raise fail(f"--rate: {exc}", EXIT_USAGE) from None
    suffix = "dry-run" if dry else "results"
    target = results or file.with_name(f"{file.stem}.{suffix}.csv")
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
                rate=rate,
                verify=verify,
            )
        )
    except ResultsMismatch as exc:
        raise fail(str(exc), EXIT_USAGE) from None
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
