"""OpenTelemetry traces and metrics of calls, attempts, limiter waits, recoveries, callbacks.

Behind the ``otel`` extra (``opentelemetry-api`` only; the application brings the SDK
and its exporters). Whether anything is recorded is decided once, when a client (or a
callback receiver) is built: without the API installed, or when neither the providers
passed in nor the global ones are configured, the builders return ``None`` and the
client's code paths are the uninstrumented ones, not a no-op tracer called per request.
So configure OpenTelemetry before building the client, or pass the providers.

This module imports nothing of OpenTelemetry itself: ``current`` and the ``note_*``
helpers are what the rest of the package calls, and they cost a context-variable read
on the paths that call them (retries and recoveries only).
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from cryptopay_async._telemetry._client import ClientTelemetry, OperationRecord
    from cryptopay_async._telemetry._receiver import CallbackTelemetry

SCOPE = "cryptopay_async"
"""The instrumentation scope name of every tracer and meter (with the package version)."""

CURRENT: contextvars.ContextVar[OperationRecord | None] = contextvars.ContextVar(
    "cryptopay_async.telemetry.operation", default=None
)
"""The operation call in progress in this task, when telemetry is on."""


def client_telemetry(
    tracer_provider: Any, meter_provider: Any, base_url: str
) -> ClientTelemetry | None:
    """The client's instruments, or None when nothing would record them (no cost then)."""
    from cryptopay_async._telemetry import _providers

    providers = _providers.resolve(tracer_provider, meter_provider)
    if providers is None:
        return None
    from cryptopay_async._telemetry._client import ClientTelemetry

    return ClientTelemetry(*providers, base_url=base_url)


def callback_telemetry(
    tracer_provider: Any, meter_provider: Any, *, server: bool
) -> CallbackTelemetry | None:
    """A callback receiver's instruments, or None (see ``client_telemetry``)."""
    from cryptopay_async._telemetry import _providers

    providers = _providers.resolve(tracer_provider, meter_provider)
    if providers is None:
        return None
    from cryptopay_async._telemetry._receiver import CallbackTelemetry

    return CallbackTelemetry(*providers, server=server)


def note_retry(cause: Exception | int | str) -> None:
    """Count one repeat of the operation in progress (``cryptopay.client.retries``).

    ``cause`` is what the attempt met (a transport error, or a status such as 503), or
    the reason itself (``"read_back"``: exactly-once recovery repeats after reading back).
    """
    record = CURRENT.get()
    if record is not None:
        record.telemetry.retried(record.name, retry_reason(cause))


def retry_reason(cause: Exception | int | str) -> str:
    """``status_503``, ``status_429``, ``connect``, ``timeout``, ``network`` or ``cause``."""
    if isinstance(cause, str):
        return cause
    if isinstance(cause, int):
        return f"status_{cause}"
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "connect"
    if isinstance(cause, httpx.TimeoutException):
        return "timeout"
    return "network"


def note_recovery(outcome: str) -> None:
    """How exactly-once recovery of the operation in progress ended: ``found``,
    ``resent`` or ``unsettled`` (``cryptopay.client.recoveries``)."""
    record = CURRENT.get()
    if record is not None:
        record.recovery = outcome
