"""A client's spans and instruments: operations, HTTP attempts, limiter waits, recoveries.

Built only when a provider records (``cryptopay_async._otel.client_telemetry``).
Names follow the OpenTelemetry HTTP semantic conventions where they apply
(``http.request.method``, ``url.full``, ``server.address``, ``error.type``,
``http.client.request.duration``) and ``cryptopay.*`` for the rest. Nothing secret is
ever read: the attempt step runs after signing but reads only the method, the URL
(its user information redacted) and the SDK's own request extensions, never a header.

Per call, the work is what the OpenTelemetry SDK itself must do: two spans and two
histogram records. Everything that does not change between calls is built once: the
attribute dicts of an operation and of each (method, status) an attempt ends with, the
instruments, the server's address and port. An attempt's span is created when the
attempt ends, with its start time and every attribute in one call (it is never made
current, so nothing could nest under it); when the call's span does not record (a
sampler dropped it), the attempt builds no span at all. The limiter's queue is a plain
count, read by an observable up-down counter when metrics are collected.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from cryptopay_async._errors._payload import error_payload
from cryptopay_async._extensions import ATTEMPT, LIMITER_WAIT
from cryptopay_async._telemetry import CURRENT, OperationRecord
from cryptopay_async.middleware._chain import CallNext
from cryptopay_async.middleware._limiter import RateLimiter

# Bucket boundaries the semantic conventions advise for HTTP durations, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
RECOVERED = frozenset({"found", "resent"})
_ERROR = Status(StatusCode.ERROR)


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def url_full(url: httpx.URL) -> str:
    """The URL as sent, query included, user information (if any) redacted."""
    if url.userinfo:
        url = url.copy_with(username="REDACTED", password="REDACTED")
    return str(url)


class OperationKind:
    """What every call of one operation shares: its span's first attributes and its
    metric attributes, built on its first call."""

    __slots__ = ("measured", "name", "static")

    def __init__(self, name: str, method: str, template: str, address: str) -> None:
        self.name = name
        self.static: dict[str, Any] = {
            "cryptopay.operation": name,
            "http.request.method": method,
            "url.template": template,
            "server.address": address,
        }
        self.measured = {"cryptopay.operation": name}


class ClientTelemetry:
    """The tracer, the meter's instruments, and the steps a client adds to its chain."""

    def __init__(self, tracer: trace.Tracer, meter: Any, *, base_url: str) -> None:
        self.tracer = tracer
        url = httpx.URL(base_url)
        self.address = url.host
        self.port = _port(url)
        self._kinds: dict[str, OperationKind] = {}
        self.waiting = 0  # callers in the limiter now (cryptopay.ratelimit.waiting)
        self.attempt_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests (one per attempt).",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.operation_duration = meter.create_histogram(
            "cryptopay.client.operation.duration",
            unit="s",
            description="Duration of Cryptopay operation calls, retries and recovery included.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.limiter_wait = meter.create_histogram(
            "cryptopay.ratelimit.wait",
            unit="s",
            description="Time an attempt waited for the rate limiter.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        meter.create_observable_up_down_counter(
            "cryptopay.ratelimit.waiting",
            callbacks=[self._observe_waiting],
            unit="{request}",
            description="Attempts waiting for the rate limiter now.",
        )
        self.retries = meter.create_counter(
            "cryptopay.client.retries",
            unit="{retry}",
            description="Repeated attempts, by operation and reason.",
        )
        self.recoveries = meter.create_counter(
            "cryptopay.client.recoveries",
            unit="{recovery}",
            description="Ambiguous failures of creates and commits settled by exactly-once "
            "recovery, by outcome (found, resent, unsettled).",
        )

    def _observe_waiting(self, options: CallbackOptions) -> Iterable[Observation]:
        return (Observation(self.waiting),)

    # ---- operations --------------------------------------------------------------

    def operation(self, name: str, method: str, template: str) -> OperationScope:
        """The span of one operation call (``invoices.create``), as a context manager."""
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = OperationKind(name, method, template, self.address)
        return OperationScope(self, kind)

    def retried(self, operation: str, reason: str) -> None:
        self.retries.add(1, {"cryptopay.operation": operation, "cryptopay.retry.reason": reason})

    # ---- the chain's steps -------------------------------------------------------

    def attempt_step(self) -> AttemptStep:
        """The innermost step: one span and one duration per HTTP attempt."""
        return AttemptStep(self)

    def metered(self, limiter: RateLimiter) -> MeteredLimiter:
        """``limiter`` with its callers counted while they wait."""
        return MeteredLimiter(limiter, self)


class OperationScope:
    """Starts the operation's span and makes it current; ends it with what happened."""

    __slots__ = ("_context", "_kind", "_record", "_span", "_started", "_telemetry", "_token")

    def __init__(self, telemetry: ClientTelemetry, kind: OperationKind) -> None:
        self._telemetry = telemetry
        self._kind = kind

    def __enter__(self) -> None:
        kind = self._kind
        self._span = span = self._telemetry.tracer.start_span(
            kind.name, kind=SpanKind.CLIENT, attributes=kind.static
        )
        self._record = OperationRecord(self._telemetry, kind.name, recording=span.is_recording())
        self._context = context.attach(trace.set_span_in_context(span))
        self._token = CURRENT.set(self._record)
        self._started = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        telemetry, record, span, kind = self._telemetry, self._record, self._span, self._kind
        CURRENT.reset(self._token)
        context.detach(self._context)
        measured = kind.measured
        try:
            if record.recovery is not None:
                telemetry.recoveries.add(
                    1, {**measured, "cryptopay.recovery.outcome": record.recovery}
                )
            if exc is not None:
                measured = {**measured, "error.type": type(exc).__name__}
            if record.recording:
                self._end_span(span, record, exc)
        finally:
            span.end()
            telemetry.operation_duration.record(elapsed, measured)

    @staticmethod
    def _end_span(span: trace.Span, record: OperationRecord, exc: BaseException | None) -> None:
        """What the attempts added up to, in one call (one lock in the SDK)."""
        ended: dict[str, Any] = {
            "cryptopay.attempts": record.attempts,
            "cryptopay.ratelimit.wait": record.wait,
        }
        if record.status is not None:
            ended["http.response.status_code"] = record.status
        request_id = record.request_id
        if record.recovery is not None:
            ended["cryptopay.recovered"] = record.recovery in RECOVERED
            ended["cryptopay.recovery.outcome"] = record.recovery
        if exc is not None:
            error_type = ended["error.type"] = type(exc).__name__
            maybe = getattr(exc, "maybe_processed", None)
            if isinstance(maybe, bool):
                ended["cryptopay.maybe_processed"] = maybe
            request_id = getattr(exc, "request_id", None) or request_id
            if isinstance(exc, Exception):
                span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, error_type))
        if isinstance(request_id, str):
            ended["cryptopay.request_id"] = request_id
        span.set_attributes(ended)


class AttemptStep:
    """A chain step: the span of one HTTP attempt, and ``http.client.request.duration``.

    The span is not made current: nothing of the SDK runs under it, and attaching it
    would cost every attempt a context switch (a transport's own instrumentation nests
    under the operation's span instead). So it is created once the attempt has ended,
    with its start time and all its attributes at once.
    """

    __slots__ = ("_measured", "_server", "_telemetry")

    def __init__(self, telemetry: ClientTelemetry) -> None:
        self._telemetry = telemetry
        # Requests go to the base URL's host: its address and port are known here.
        self._server = {"server.address": telemetry.address, "server.port": telemetry.port}
        # The duration's attributes per (method, status or error type), built once each.
        self._measured: dict[tuple[str, int | str | None], dict[str, Any]] = {}

    def _measured_as(self, method: str, status: int | None, error: str | None) -> dict[str, Any]:
        key = (method, status if error is None else error)
        measured = self._measured.get(key)
        if measured is None:
            measured = {"http.request.method": method, **self._server}
            if status is not None:
                measured["http.response.status_code"] = status
            if error is not None:
                measured["error.type"] = error
            if len(self._measured) < 256:  # statuses and error types are few; stay bounded
                self._measured[key] = measured
        return measured

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        telemetry = self._telemetry
        record = CURRENT.get()
        traced = record is None or record.recording
        start_ns = time.time_ns()
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        request_id: str | None = None
        failure: BaseException | None = None
        try:
            response = await call_next(request)
        except BaseException as exc:
            failure = exc
            error = type(exc).__name__
            raise
        else:
            status = response.status_code
            if status >= 400:
                error = str(status)
                payload = error_payload(response)
                request_id = payload[1] if payload else None
            return response
        finally:
            elapsed = time.perf_counter() - started
            method = request.method
            wait = request.extensions.get(LIMITER_WAIT)
            if record is not None:
                record.attempts += 1
                record.wait += wait or 0.0
                record.status = status
                record.request_id = request_id
            if wait is not None:
                waited = {"cryptopay.operation": record.name} if record is not None else {}
                telemetry.limiter_wait.record(wait, waited)
            if traced:
                self._span(request, start_ns, status, error, request_id, wait, failure)
            telemetry.attempt_duration.record(elapsed, self._measured_as(method, status, error))

    def _span(
        self,
        request: httpx.Request,
        start_ns: int,
        status: int | None,
        error: str | None,
        request_id: str | None,
        wait: float | None,
        failure: BaseException | None,
    ) -> None:
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            **self._server,
            "url.full": url_full(request.url),
        }
        attempt = request.extensions.get(ATTEMPT, 1)
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        if wait is not None:
            attributes["cryptopay.ratelimit.wait"] = wait
        if status is not None:
            attributes["http.response.status_code"] = status
        if error is not None:
            attributes["error.type"] = error
        if request_id is not None:
            attributes["cryptopay.request_id"] = request_id
        span = self._telemetry.tracer.start_span(
            request.method, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns
        )
        if error is not None:
            if isinstance(failure, Exception):
                span.record_exception(failure)
            span.set_status(_ERROR if failure is None else Status(StatusCode.ERROR, error))
        span.end()


class MeteredLimiter:
    """A limiter whose callers are counted while they wait (the wait itself is measured
    by the rate-limit step, ``request.extensions[LIMITER_WAIT]``, and recorded per attempt)."""

    __slots__ = ("_inner", "_telemetry")

    def __init__(self, inner: RateLimiter, telemetry: ClientTelemetry) -> None:
        self._inner = inner
        self._telemetry = telemetry

    def current(self) -> RateLimiter:
        """The limiter this one counts for (its current run's, for a per-run limiter):
        what a 429's message names."""
        current = getattr(self._inner, "current", None)
        return current() if callable(current) else self._inner

    async def acquire(self) -> None:
        telemetry = self._telemetry
        telemetry.waiting += 1
        try:
            await self._inner.acquire()
        finally:
            telemetry.waiting -= 1

    def pause(self, seconds: float) -> None:
        self._inner.pause(seconds)
