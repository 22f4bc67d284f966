"""A FastAPI shop traced and measured with OpenTelemetry, exporting to the console.

Every Cryptopay call is a span (``invoices.create``) with one child per HTTP attempt
and the read-backs of an ambiguous create below it; every callback delivery is a
span (``callback Invoice.status_changed``); the metrics (attempt and call durations,
limiter waits, retries, recoveries, callbacks) are printed every minute and at exit.

Run: ``pip install "cryptopay-async[otel,fastapi]" opentelemetry-sdk uvicorn``, then
``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... CRYPTOPAY_CALLBACK_SECRET=...
uvicorn examples.otel_fastapi_app:app`` (add ``CRYPTOPAY_BASE_URL`` for the emulator).

To send to a collector instead (Jaeger, Tempo, Honeycomb, ...): ``pip install
opentelemetry-exporter-otlp`` and use ``OTLPSpanExporter()`` and ``OTLPMetricExporter()``
from ``opentelemetry.exporter.otlp.proto.http.trace_exporter`` and ``.metric_exporter``
in place of the console exporters; they read ``OTEL_EXPORTER_OTLP_ENDPOINT``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from fastapi import FastAPI, Request
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from cryptopay_async import AsyncCryptopay, ConflictError
from cryptopay_async.callbacks import Callback, InvoiceCallback
from cryptopay_async.integrations.fastapi import callback_router

resource = Resource.create({"service.name": "shop"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
reader = PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
# Before any client or router is built: the SDK looks for the providers once, then.
trace.set_tracer_provider(tracer_provider)
metrics.set_meter_provider(meter_provider)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncCryptopay() as client:  # traced through the global providers
        app.state.cryptopay = client
        yield
    tracer_provider.shutdown()  # export what is still buffered
    meter_provider.shutdown()


app = FastAPI(lifespan=lifespan)


@app.post("/orders/{order_id}/invoice")
async def create_invoice(order_id: str, request: Request) -> dict[str, str | None]:
    client: AsyncCryptopay = request.app.state.cryptopay
    custom_id = f"ORDER-{order_id}"
    try:
        invoice = await client.invoices.create(
            price_amount=Decimal("10.00"),
            price_currency="EUR",
            pay_currency="BTC",
            custom_id=custom_id,
        )
    except ConflictError:
        invoice = await client.invoices.retrieve_by_custom_id(custom_id)
    return {"invoice_id": invoice.id, "pay_url": invoice.hosted_page_url}


async def on_callback(event: Callback) -> None:
    if isinstance(event, InvoiceCallback):
        # A child span of the delivery's: the invoice read back before acting on it.
        invoice = await app.state.cryptopay.callbacks.refetch(event)
        print(f"invoice {invoice.id} is {invoice.status}")


# A SERVER span per delivery; the secret is read from the client at each delivery.
app.include_router(callback_router(on_callback, secret=lambda: app.state.cryptopay.callback_secret))
