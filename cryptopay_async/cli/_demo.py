"""``cryptopay demo``: a batch job written the way a careful user would write one.

Hundreds of invoices are created by many concurrent tasks, each with its own
``custom_id``, while the emulator injects 503s (refused before processing) and, after
processing, 500s, dropped connections and answers later than the client waits. The job
just calls ``invoices.create(custom_id=...)``: the SDK settles every ambiguous failure
itself (reads the invoice back by ``custom_id``, sends again only if it is not there).
Then every invoice is paid, the signed callbacks are received and verified by a local
webhook endpoint, everything is read back with auto-pagination, and a summary shows
what happened.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from typing import Any

import anyio
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cryptopay_async import AsyncCryptopay, CallNext, CryptopayError, RetryPolicy
from cryptopay_async.callbacks import SIGNATURE_HEADER, Callback, CallbackReceiver
from cryptopay_async.models import Invoice
from cryptopay_async.ratelimit import (
    DEFAULT_MARGIN,
    DEFAULT_PERIOD,
    DEFAULT_RATE,
    PerRunLimiter,
    TokenBucket,
)

console = Console(highlight=False)
CLIENT_TIMEOUT, LATE_ANSWER = 2.0, 3.0  # the emulator answers some requests too late
FAULTS: dict[str, Any] = {  # the emulator's Faults
    "error_503_rate": 0.05,
    "error_500_rate": 0.02,
    "drop_rate": 0.02,
    "delay_rate": 0.01,
    "delay_seconds": LATE_ANSWER,
}
# The emulator refuses 1 request in 20 with a 503: with the default 2 retries one create
# in 8,000 meets three in a row and fails, about one run of 400 invoices in 20. Six
# retries make that about one create in a billion, as a job facing such a rate would choose.
RETRIES = RetryPolicy(max_retries=6)


class Stats:
    """What the job saw, for the summary."""

    def __init__(self) -> None:
        self.calls = 0  # passes through the chain (each may take several attempts)
        self.ambiguous = 0  # creates that failed after maybe being processed
        self.read_back = 0  # reads by custom_id the SDK made to settle them
        self.callbacks: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()  # creates that raised, by error

    async def count_calls(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        """The caller's middleware: it sees the SDK's own read-backs and repeats too."""
        self.calls += 1
        if "/custom_id/" in request.url.path:
            self.read_back += 1
        try:
            return await call_next(request)
        except CryptopayError as exc:
            if request.method == "POST" and exc.maybe_processed:
                self.ambiguous += 1
            raise


async def create_invoice(client: AsyncCryptopay, custom_id: str) -> Invoice:
    """Exactly once, although answers get lost: the SDK settles that by custom_id."""
    return await client.invoices.create(
        price_amount=Decimal("25.00"),
        price_currency="EUR",
        pay_currency="BTC",
        custom_id=custom_id,
    )


async def run_demo(count: int, workers: int, speedup: float, sandbox: bool, as_json: bool) -> int:
    period = DEFAULT_PERIOD if sandbox else DEFAULT_PERIOD / speedup
    stats = Stats()
    run_id = secrets.token_hex(3)
    started = time.perf_counter()
    async with _environment(sandbox, period, stats) as (client, emulator):
        limiter = client.rate_limiter
        if isinstance(limiter, PerRunLimiter):  # the default: this run's bucket
            limiter = limiter.current()
        assert isinstance(limiter, TokenBucket)
        if not as_json:
            mode = "the Cryptopay sandbox" if sandbox else "the built-in emulator (in-process)"
            console.print(
                f"[bold]cryptopay demo[/] against {mode}: {count} invoices, "
                f"{workers} concurrent tasks"
            )
            if not sandbox:
                console.print(
                    f"The rate limit is 200 requests per 60 s; to finish in under a minute the "
                    f"limiter period and the emulator's window are both scaled to {period:g} s "
                    f"(--speedup {speedup:g}). Faults: 5 % 503s before processing; after "
                    "processing 2 % 500s, 2 % dropped connections, 1 % answers too late."
                )
        invoices = await _create_all(client, limiter, count, workers, run_id, stats, as_json)
        created_at = time.perf_counter()
        attempts_after_batch = emulator.requests_seen if emulator is not None else stats.calls
        paid = 0
        if emulator is not None:
            for invoice in invoices:
                emulator.pay_invoice(invoice.id)
                paid += 1
            with anyio.fail_after(60):
                await emulator.flush_webhooks()
        prefix = f"DEMO-{run_id}-"
        listed = [invoice.custom_id async for invoice in client.invoices.list()]
        seen = Counter(c for c in listed if c and c.startswith(prefix))
        completed = 0
        if emulator is not None:
            completed = sum(
                1
                for invoice in emulator.api.objects["invoices"].values()
                if invoice["custom_id"] in seen and invoice["status"] == "completed"
            )
        elapsed = time.perf_counter() - started
        batch_requests = attempts_after_batch if emulator is not None else stats.calls
        attempts = emulator.requests_seen if emulator is not None else stats.calls
        summary = {
            "invoices_requested": count,
            "invoices_created": len(seen),
            "invoices_failed": sum(stats.failures.values()),
            "failures_by_error": dict(sorted(stats.failures.items())),
            "duplicate_invoices": sum(n - 1 for n in seen.values()),
            "requests_sent": attempts,
            "sdk_calls": stats.calls,
            "retries": max(0, attempts - stats.calls),
            "ambiguous_failures_settled_by_sdk": stats.ambiguous,
            "read_backs_by_custom_id": stats.read_back,
            "answers_503": emulator.errors_answered.get(503, 0) if emulator else 0,
            "answers_429": emulator.rate_limited if emulator else 0,
            "invoices_paid": paid,
            "invoices_completed": completed,
            "callbacks_verified_and_handled": sum(stats.callbacks.values()),
            "callbacks_by_event": dict(sorted(stats.callbacks.items())),
            "batch_seconds": round(created_at - started, 2),
            "elapsed_seconds": round(elapsed, 2),
            "batch_requests": batch_requests,
            "batch_bound_seconds_at_cap": round(_bound(batch_requests, period + limiter.margin), 2),
            "period_seconds": period,
        }
    failed = _failed_checks(summary, sandbox)
    summary["failed_checks"] = failed
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        console.print(_summary_table(summary, sandbox))
        if failed:
            console.print("[red]checks failed:[/] " + "; ".join(failed))
        else:
            console.print("[green]all checks passed[/]")
    return 1 if failed else 0


def _failed_checks(summary: dict[str, Any], sandbox: bool) -> list[str]:
    """What went wrong, one sentence per failed check (none: the run is healthy)."""
    failed = []
    if summary["invoices_failed"]:
        errors = ", ".join(f"{n} {kind}" for kind, n in summary["failures_by_error"].items())
        failed.append(
            f"{summary['invoices_failed']} of {summary['invoices_requested']} creates raised "
            f"after the SDK's retries ({errors})"
        )
    if summary["answers_429"]:
        failed.append(
            f"{summary['answers_429']} answers 429 (must be 0): requests reached the server "
            "faster than the limiter granted them"
        )
    if summary["duplicate_invoices"]:
        failed.append(f"{summary['duplicate_invoices']} duplicate invoices (must be 0)")
    if not sandbox and summary["invoices_completed"] != summary["invoices_requested"]:
        failed.append(
            f"{summary['invoices_completed']} of {summary['invoices_requested']} invoices "
            "completed after payment"
        )
    return failed


def _bound(requests: int, window: float) -> float:
    """The least time ``requests`` can take at the cap.

    No ``window`` may hold more than 200, so request ``k`` (0-based) cannot go before
    ``k // 200`` whole windows have passed: 435 requests need two windows, not the
    fluid ``(435 - 200) / 200`` of one.
    """
    return max(0, requests - 1) // DEFAULT_RATE * window


async def _create_all(
    client: AsyncCryptopay,
    limiter: TokenBucket,
    count: int,
    workers: int,
    run_id: str,
    stats: Stats,
    as_json: bool,
) -> list[Invoice]:
    created: list[Invoice] = []
    queue = iter(range(count))
    with _progress(as_json) as progress:
        task = progress.add_task("creating invoices", total=count, pace="")

        async def worker() -> None:
            for index in queue:
                try:
                    created.append(await create_invoice(client, f"DEMO-{run_id}-{index:04d}"))
                except CryptopayError as exc:  # reported as a failed check, not a traceback
                    stats.failures[type(exc).__name__] += 1
                pace = limiter.in_window()
                progress.update(
                    task, advance=1, pace=f"{pace}/{limiter.rate} per {limiter.period:g} s window"
                )

        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
    return created


@contextmanager
def _progress(quiet: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("limiter: {task.fields[pace]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    with progress:
        yield progress


@asynccontextmanager
async def _environment(
    sandbox: bool, period: float, stats: Stats
) -> AsyncIterator[tuple[AsyncCryptopay, Any]]:
    if sandbox:
        async with AsyncCryptopay(middleware=[stats.count_calls]) as client:
            yield client, None
        return
    from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread

    async def handle(event: Callback) -> None:
        stats.callbacks[f"{event.type}.{event.event}"] += 1

    emulator = CryptopayEmulator(
        rate_limit=DEFAULT_RATE,
        rate_period=period,
        callback_time_scale=0.001,
        faults=Faults(**FAULTS),
    )
    receiver = CallbackReceiver(handle, secret=emulator.callback_secret)
    # The margin covers a request's way from grant to server, which the speedup does not
    # shorten: scaled down with the period it let a busy machine's delays
    # squeeze more than the rate into one of the emulator's windows.
    limiter = TokenBucket(DEFAULT_RATE, period, margin=DEFAULT_MARGIN)
    with serve_in_thread(_WebhookEndpoint(receiver), lifespan="off") as url:
        emulator.callback_url = f"{url}/cryptopay/callbacks"
        async with emulator.client(
            rate_limiter=limiter,
            middleware=[stats.count_calls],
            timeout=CLIENT_TIMEOUT,
            retry_policy=RETRIES,
        ) as client:
            yield client, emulator


class _WebhookEndpoint:
    """A bare ASGI app around ``CallbackReceiver``: the demo's local webhook receiver."""

    def __init__(self, receiver: CallbackReceiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        outcome = await self.receiver.receive(body, headers.get(SIGNATURE_HEADER.lower()))
        await send(
            {
                "type": "http.response.start",
                "status": outcome.status,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": outcome.text.encode()})


def _summary_table(summary: dict[str, Any], sandbox: bool) -> Table:
    table = Table(title="Summary", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    created = f"{summary['invoices_created']} / {summary['invoices_requested']}"
    rows: list[tuple[str, object]] = [
        ("invoices created / requested", created),
        ("duplicate invoices (must be 0)", summary["duplicate_invoices"]),
        ("requests sent (attempts)", summary["requests_sent"]),
        ("retries by the chain (503s, reads: safe)", summary["retries"]),
        ("503 answers injected", summary["answers_503"]),
        ("ambiguous failures settled by the SDK", summary["ambiguous_failures_settled_by_sdk"]),
        ("... read back by custom_id", summary["read_backs_by_custom_id"]),
        ("429 answers received (must be 0)", summary["answers_429"]),
    ]
    if not sandbox:
        paid = f"{summary['invoices_paid']} / {summary['invoices_completed']}"
        rows += [
            ("invoices paid / completed", paid),
            ("callbacks verified and handled once", summary["callbacks_verified_and_handled"]),
        ]
    window = f"200 per {summary['period_seconds']:g} s window"
    rows += [
        ("batch: requests", summary["batch_requests"]),
        ("batch: elapsed", f"{summary['batch_seconds']:.1f} s"),
        (
            "batch: least possible at the cap",
            f"{summary['batch_bound_seconds_at_cap']:.1f} s ({window})",
        ),
        ("whole job elapsed", f"{summary['elapsed_seconds']:.1f} s"),
    ]
    for what, value in rows:
        table.add_row(what, str(value))
    return table
