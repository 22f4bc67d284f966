"""What the low layers tell telemetry about the call in progress, without OpenTelemetry.

A leaf: it imports nothing of the package and nothing of OpenTelemetry. The operation
span of a call (built in ``_otel/``, above the layers that call this module) puts an
``OperationRecord`` in ``CURRENT`` for its task; the retry step, exactly-once recovery
and the attempt step write into it, and the span reads it when the call ends. Without
telemetry, ``CURRENT`` holds None and each ``note_*`` costs one context-variable read,
on the paths that call them (retries and recoveries) only.
"""

from __future__ import annotations

import contextvars
from contextlib import AbstractContextManager
from typing import Protocol

import httpx


class RetryCounter(Protocol):
    """Where a repeat of an operation is counted (``cryptopay.client.retries``)."""

    def retried(self, operation: str, reason: str) -> None: ...


class OperationTracer(Protocol):
    """What a resource asks of the client's telemetry: the scope of one operation call."""

    def operation(self, name: str, method: str, template: str) -> AbstractContextManager[None]:
        """The span of one call of operation ``name`` (``invoices.create``)."""
        ...


class OperationRecord:
    """What the attempts of one operation call add up to, read by its span at the end."""

    __slots__ = (
        "attempts",
        "counter",
        "name",
        "recording",
        "recovery",
        "request_id",
        "status",
        "wait",
    )

    def __init__(self, counter: RetryCounter, name: str, *, recording: bool = True) -> None:
        self.counter = counter
        self.name = name
        # Whether the call's span records (a sampler may drop it): if not, its attempts
        # build no span of their own either.
        self.recording = recording
        self.attempts = 0
        self.wait = 0.0
        self.status: int | None = None
        self.request_id: str | None = None
        self.recovery: str | None = None


CURRENT: contextvars.ContextVar[OperationRecord | None] = contextvars.ContextVar(
    "cryptopay_async.telemetry.operation", default=None
)
"""The operation call in progress in this task, when telemetry is on."""


def note_retry(cause: Exception | int | str) -> None:
    """Count one repeat of the operation in progress (``cryptopay.client.retries``).

    ``cause`` is what the attempt met (a transport error, or a status such as 503), or
    the reason itself (``"read_back"``: exactly-once recovery repeats after reading back).
    """
    record = CURRENT.get()
    if record is not None:
        record.counter.retried(record.name, retry_reason(cause))


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
