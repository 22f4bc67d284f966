"""OpenTelemetry spans and instruments of calls, attempts, limiter waits, recoveries, callbacks.

Behind the ``otel`` extra (``opentelemetry-api`` only; the application brings the SDK
and its exporters). Whether anything is recorded is decided once, when a client (or a
callback receiver) is built: without the API installed, or when neither the providers
passed in nor the global ones are configured, the builders return ``None`` and the
client's code paths are the uninstrumented ones, not a no-op tracer called per request.
So configure OpenTelemetry before building the client, or pass the providers.

This package builds; the layers under it only record, through ``_telemetry`` (the
call in progress and the ``note_*`` functions), which imports nothing of it.
OpenTelemetry itself is imported only when a builder finds a provider that records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptopay_async._otel import _providers

if TYPE_CHECKING:
    from cryptopay_async._otel._client import ClientTelemetry
    from cryptopay_async._otel._receiver import CallbackTelemetry


def client_telemetry(
    tracer_provider: Any, meter_provider: Any, base_url: str
) -> ClientTelemetry | None:
    """The client's instruments, or None when nothing would record them (no cost then)."""
    providers = _providers.resolve(tracer_provider, meter_provider)
    if providers is None:
        return None
    from cryptopay_async._otel._client import ClientTelemetry

    return ClientTelemetry(*providers, base_url=base_url)


def callback_telemetry(
    tracer_provider: Any, meter_provider: Any, *, server: bool
) -> CallbackTelemetry | None:
    """A callback receiver's instruments, or None (see ``client_telemetry``)."""
    providers = _providers.resolve(tracer_provider, meter_provider)
    if providers is None:
        return None
    from cryptopay_async._otel._receiver import CallbackTelemetry

    return CallbackTelemetry(*providers, server=server)
