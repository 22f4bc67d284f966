"""A client's spans and instruments: operations, HTTP attempts, limiter waits, recoveries.

Built only when a provider records (``cryptopay_async._otel.client_telemetry``).
Names follow the OpenTelemetry HTTP semantic conventions where they apply
(``http.request.method``, ``url.full``, ``server.address``, ``error.type``,
``http.client.request.duration``) and ``cryptopay.*`` for the rest. Nothing secret is
ever read: the attempt step runs after signing but reads only the method, the URL
(its user information redacted) and the SDK's own request extensions, never a header.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from cryptopay_async._errors._payload import error_payload
from cryptopay_async._extensions import ATTEMPT, LIMITER_WAIT
from cryptopay_async._telemetry import CURRENT, OperationRecord
from cryptopay_async.middleware._chain import CallNext
from cryptopay_async.middleware._limiter import RateLimiter

# Bucket boundaries the semantic conventions advise for HTTP durations, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
RECOVERED = frozenset({"found", "resent"})


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def url_full(url: httpx.URL) -> str:
    """The URL as sent, query included, user information (if any) redacted."""
    if url.userinfo:
        url = url.copy_with(username="REDACTED", password="REDACTED")
    return str(url)


class ClientTelemetry:
    """The tracer, the meter's instruments, and the steps a client adds to its chain."""

    def __init__(self, tracer: trace.Tracer, meter: Any, *, base_url: str) -> None:
        self.tracer = tracer
        url = httpx.URL(base_url)
        self.address = url.host
        self.port = _port(url)
        self._static: dict[str, dict[str, Any]] = {}
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
        self.limiter_waiting = meter.create_up_down_counter(
            "cryptopay.ratelimit.waiting",
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

    # ---- operations --------------------------------------------------------------

    def operation(self, name: str, method: str, template: str) -> OperationScope:
        """The span of one operation call (``invoices.create``), as a context manager."""
        static = self._static.get(name)
        if static is None:
            static = self._static[name] = {
                "cryptopay.operation": name,
                "http.request.method": method,
                "url.template": template,
                "server.address": self.address,
            }
        return OperationScope(self, name, static)

    def retried(self, operation: str, reason: str) -> None:
        self.retries.add(1, {"cryptopay.operation": operation, "cryptopay.retry.reason": reason})

    # ---- the chain's steps -------------------------------------------------------

    def attempt_step(self) -> AttemptStep:
        """The innermost step: one span and one duration per HTTP attempt."""
        return AttemptStep(self)

    def metered(self, limiter: RateLimiter) -> MeteredLimiter:
        """``limiter`` with its waits measured and its queue counted."""
        return MeteredLimiter(limiter, self)


def _operation_attributes() -> dict[str, str]:
    record = CURRENT.get()
    return {} if record is None else {"cryptopay.operation": record.name}


class OperationScope:
    """Starts the operation's span and makes it current; ends it with what happened."""

    __slots__ = ("_context", "_record", "_span", "_started", "_static", "_telemetry", "_token")

    def __init__(self, telemetry: ClientTelemetry, name: str, static: dict[str, Any]) -> None:
        self._telemetry = telemetry
        self._static = static
        self._record = OperationRecord(telemetry, name)

    def __enter__(self) -> None:
        telemetry = self._telemetry
        record = self._record
        self._span = span = telemetry.tracer.start_span(
            record.name, kind=SpanKind.CLIENT, attributes=self._static
        )
        self._context = context.attach(trace.set_span_in_context(span))
        self._token = CURRENT.set(record)
        self._started = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        telemetry, record, span = self._telemetry, self._record, self._span
        elapsed = time.perf_counter() - self._started
        CURRENT.reset(self._token)
        context.detach(self._context)
        name = record.name
        measured: dict[str, Any] = {"cryptopay.operation": name}
        try:
            # One call, one lock: what the attempts added up to.
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
                outcome = {"cryptopay.recovery.outcome": record.recovery}
                telemetry.recoveries.add(1, {"cryptopay.operation": name, **outcome})
            if exc is not None:
                error_type = ended["error.type"] = measured["error.type"] = type(exc).__name__
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
        finally:
            span.end()
            telemetry.operation_duration.record(elapsed, measured)


class AttemptStep:
    """A chain step: the span of one HTTP attempt, and ``http.client.request.duration``.

    The span is not made current: nothing of the SDK runs under it, and attaching it
    would cost every attempt a context switch (a transport's own instrumentation nests
    under the operation's span instead).
    """

    __slots__ = ("_measured", "_telemetry")

    def __init__(self, telemetry: ClientTelemetry) -> None:
        self._telemetry = telemetry
        # Requests go to the base URL's host: its address and port are known here.
        self._measured = {"server.address": telemetry.address, "server.port": telemetry.port}

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        telemetry = self._telemetry
        extensions = request.extensions
        method = request.method
        measured: dict[str, Any] = {"http.request.method": method, **self._measured}
        attributes = {**measured, "url.full": url_full(request.url)}
        attempt = extensions.get(ATTEMPT, 1)
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        wait = extensions.get(LIMITER_WAIT)
        if wait is not None:
            attributes["cryptopay.ratelimit.wait"] = wait
        record = CURRENT.get()
        if record is not None:
            record.attempts += 1
            record.wait += wait or 0.0
        span = telemetry.tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except BaseException as exc:
            error_type = measured["error.type"] = type(exc).__name__
            span.set_attribute("error.type", error_type)
            if isinstance(exc, Exception):
                span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, error_type))
            if record is not None:
                record.status = record.request_id = None
            raise
        else:
            status = measured["http.response.status_code"] = response.status_code
            request_id = None
            if status < 400:
                span.set_attribute("http.response.status_code", status)
            else:
                measured["error.type"] = str(status)
                payload = error_payload(response)
                request_id = payload[1] if payload else None
                failed: dict[str, Any] = {
                    "http.response.status_code": status,
                    "error.type": str(status),
                }
                if request_id is not None:
                    failed["cryptopay.request_id"] = request_id
                span.set_attributes(failed)
                span.set_status(Status(StatusCode.ERROR))
            if record is not None:
                record.status = status
                record.request_id = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            span.end()
            telemetry.attempt_duration.record(elapsed, measured)


class MeteredLimiter:
    """A limiter whose callers are counted while they wait, and whose waits are measured."""

    __slots__ = ("_inner", "_telemetry")

    def __init__(self, inner: RateLimiter, telemetry: ClientTelemetry) -> None:
        self._inner = inner
        self._telemetry = telemetry

    async def acquire(self) -> None:
        telemetry = self._telemetry
        attributes = _operation_attributes()
        telemetry.limiter_waiting.add(1, attributes)
        started = time.perf_counter()
        try:
            await self._inner.acquire()
        finally:
            telemetry.limiter_waiting.add(-1, attributes)
        telemetry.limiter_wait.record(time.perf_counter() - started, attributes)

    def pause(self, seconds: float) -> None:
        self._inner.pause(seconds)
