"""One OpenTelemetry set-up of ``bench_otel.py``, in its own process.

``python benchmarks/_otel_mode.py MODE URL CONCURRENCY CALLS`` prints, as a JSON list,
the calls per second of ``CALLS`` single-invoice calls (after 20 warm-up calls) and the
CPU microseconds this process spent per call. MODE is:

- ``absent``: ``opentelemetry`` made unimportable before the SDK is imported (an
  install without the ``otel`` extra);
- ``api``: the API importable, no provider configured (what every application gets
  that does not set one up);
- ``sdk``: the OpenTelemetry SDK as global providers, spans batched to an in-memory
  exporter, metrics kept by an in-memory reader;
- ``sampled``: as ``sdk``, but the sampler keeps one trace in ten (the nine others
  build no attempt span);
- ``sdk-alone``: the ``sdk`` set-up and no client, no HTTP: only the SDK calls one
  client call makes (two spans with the same attributes, one made current, and two
  histogram records), ``CALLS`` times in a loop: the SDK's own cost per call;
- ``instrumented``: the ``sdk`` set-up and the client's own instrumentation
  (``_otel/``) around a call that answers at once, no HTTP: the SDK's cost plus ours;
- ``stub``: the client with its instrumentation built over a tracer and a meter that
  do nothing (spans that say they record, so every line of ours runs): what the
  instrumentation costs a real call without the SDK's own work.

A process per mode, because the global providers can be set only once, and an import
cannot be taken back.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

MODE = sys.argv[1]
MODES = ("absent", "api", "sdk", "sampled", "sdk-alone", "instrumented", "stub")
if MODE not in MODES:
    raise SystemExit(f"unknown mode {MODE!r}: one of {', '.join(MODES)}")
if MODE == "absent":
    sys.modules["opentelemetry"] = None  # type: ignore[assignment]  # import now fails
elif MODE == "stub":
    from opentelemetry import trace

    import cryptopay_async._otel._providers

    class StubSpan:
        """A span that says it records and keeps nothing."""

        def is_recording(self) -> bool:
            return True

        def get_span_context(self) -> trace.SpanContext:
            return trace.INVALID_SPAN_CONTEXT

        def __getattr__(self, name: str) -> Any:  # set_attributes, end, set_status...
            return lambda *args, **kwargs: None

    class Stub:
        """A tracer and a meter whose every call returns a stub at once."""

        def start_span(self, *args: Any, **kwargs: Any) -> StubSpan:
            return StubSpan()

        def __getattr__(self, name: str) -> Any:  # create_histogram, record, add...
            return lambda *args, **kwargs: Stub()

    cryptopay_async._otel._providers.resolve = lambda *args: (Stub(), Stub())
elif MODE != "api":
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    sampler = ParentBased(TraceIdRatioBased(0.1)) if MODE == "sampled" else None
    tracer_provider = TracerProvider(sampler=sampler)
    tracer_provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))

# Imported only now, after the mode is set up: that is the point of this script.
import anyio  # noqa: E402
import httpx  # noqa: E402

from cryptopay_async import AsyncCryptopay  # noqa: E402

INVOICE_ID = "03692121-10b9-40bf-a79f-f9ad1f89f13d"
WARM_UP = 20


async def client_calls(url: str, concurrency: int, calls: int) -> list[float]:
    async with AsyncCryptopay(
        api_key="bench", api_secret="bench", base_url=url, rate_limiter=None, max_retries=0
    ) as client:
        expected = MODE in ("sdk", "sampled", "stub")
        assert (client._runtime.telemetry is not None) is expected, MODE
        for _ in range(WARM_UP):
            await client.invoices.retrieve(INVOICE_ID)
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await client.invoices.retrieve(INVOICE_ID)

        started, cpu = time.perf_counter(), time.process_time()
        with anyio.fail_after(300):
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert MODE != "absent" or not any(m.startswith("opentelemetry.") for m in sys.modules)
    return [calls / elapsed, cpu / calls * 1e6]


def sdk_alone(url: str, calls: int) -> list[float]:
    """What the SDK is asked per call, with the attributes a call gives it, and no more."""
    from opentelemetry import context
    from opentelemetry.trace import SpanKind

    from cryptopay_async._version import __version__

    tracer = trace.get_tracer("cryptopay_async", __version__)
    meter = metrics.get_meter("cryptopay_async", __version__)
    operation_duration = meter.create_histogram("cryptopay.client.operation.duration", "s")
    attempt_duration = meter.create_histogram("http.client.request.duration", "s")
    base = httpx.URL(url)
    static = {
        "cryptopay.operation": "invoices.retrieve",
        "http.request.method": "GET",
        "url.template": "/api/invoices/{invoice_id}",
        "server.address": base.host,
    }
    measured = {"cryptopay.operation": "invoices.retrieve"}
    server = {"server.address": base.host, "server.port": base.port}
    attempt_measured = {"http.request.method": "GET", **server, "http.response.status_code": 200}
    full = f"{url}/api/invoices/{INVOICE_ID}"

    def one_call() -> None:
        span = tracer.start_span("invoices.retrieve", kind=SpanKind.CLIENT, attributes=static)
        token = context.attach(trace.set_span_in_context(span))
        started, start_ns = time.perf_counter(), time.time_ns()
        attributes: dict[str, Any] = {
            "http.request.method": "GET",
            **server,
            "url.full": full,
            "http.response.status_code": 200,
        }
        attempt = tracer.start_span(
            "GET", kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns
        )
        attempt.end()
        attempt_duration.record(time.perf_counter() - started, attempt_measured)
        context.detach(token)
        span.set_attributes(
            {
                "cryptopay.attempts": 1,
                "cryptopay.ratelimit.wait": 0.0,
                "http.response.status_code": 200,
            }
        )
        span.end()
        operation_duration.record(time.perf_counter() - started, measured)

    for _ in range(WARM_UP):
        one_call()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        one_call()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return [calls / elapsed, cpu / calls * 1e6]


def instrumented(url: str, calls: int) -> list[float]:
    """The client's own instrumentation and the SDK around a call answered at once."""
    from cryptopay_async._otel import client_telemetry

    telemetry = client_telemetry(None, None, url)
    assert telemetry is not None
    step = telemetry.attempt_step()
    request = httpx.Request("GET", f"{url}/api/invoices/{INVOICE_ID}")
    answer = httpx.Response(200, request=request)

    async def answered(request: httpx.Request) -> httpx.Response:
        return answer

    async def loop(n: int) -> None:
        for _ in range(n):
            with telemetry.operation("invoices.retrieve", "GET", "/api/invoices/{invoice_id}"):
                await step(request, answered)

    anyio.run(loop, WARM_UP)
    started, cpu = time.perf_counter(), time.process_time()
    anyio.run(loop, calls)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return [calls / elapsed, cpu / calls * 1e6]


if __name__ == "__main__":
    url, concurrency, calls = sys.argv[2], *map(int, sys.argv[3:5])
    if MODE == "sdk-alone":
        print(json.dumps(sdk_alone(url, calls)))
    elif MODE == "instrumented":
        print(json.dumps(instrumented(url, calls)))
    else:
        print(json.dumps(anyio.run(client_calls, url, concurrency, calls)))
