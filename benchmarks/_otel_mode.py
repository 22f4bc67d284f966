"""One OpenTelemetry set-up of ``bench_otel.py``, in its own process.

``python benchmarks/_otel_mode.py MODE URL CONCURRENCY CALLS`` prints the calls per
second of ``CALLS`` single-invoice calls (after 20 warm-up calls) as a JSON list of one
number. MODE is ``absent`` (``opentelemetry`` made unimportable before the SDK is
imported: an install without the ``otel`` extra), ``api`` (the API importable, no
provider configured: what every application gets that does not set one up) or ``sdk``
(the OpenTelemetry SDK as global providers, spans batched to an in-memory exporter,
metrics kept by an in-memory reader). A process per mode, because the global providers
can be set only once, and an import cannot be taken back.
"""

from __future__ import annotations

import json
import sys
import time

MODE = sys.argv[1]
if MODE == "absent":
    sys.modules["opentelemetry"] = None  # type: ignore[assignment]  # import now fails
elif MODE == "sdk":
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
elif MODE != "api":
    raise SystemExit(f"unknown mode {MODE!r}: absent, api or sdk")

# Imported only now, after the mode is set up: that is the point of this script.
import anyio  # noqa: E402

from cryptopay_async import AsyncCryptopay  # noqa: E402

INVOICE_ID = "03692121-10b9-40bf-a79f-f9ad1f89f13d"


async def main(url: str, concurrency: int, calls: int) -> float:
    async with AsyncCryptopay(
        api_key="bench", api_secret="bench", base_url=url, rate_limiter=None, max_retries=0
    ) as client:
        assert (client._runtime.telemetry is not None) is (MODE == "sdk"), MODE
        for _ in range(20):
            await client.invoices.retrieve(INVOICE_ID)
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await client.invoices.retrieve(INVOICE_ID)

        started = time.perf_counter()
        with anyio.fail_after(300):
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker)
        rate = calls / (time.perf_counter() - started)
    assert MODE != "absent" or not any(m.startswith("opentelemetry.") for m in sys.modules)
    return rate


if __name__ == "__main__":
    url, concurrency, calls = sys.argv[2], *map(int, sys.argv[3:5])
    print(json.dumps([anyio.run(main, url, concurrency, calls)]))
