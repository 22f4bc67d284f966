"""A callback receiver's spans and its ``cryptopay.callbacks`` counter; a sweeper's spans.

One span per delivery, named ``callback {type}.{event}`` once the signature is verified
(``callback`` alone when it was refused: an unverified body names nothing), kind SERVER
when a web-framework integration receives it. The outcome is ``handled``, ``duplicate``
(a repeat of one handled, 200, or of one whose handler still runs, 409),
``rejected`` (bad signature or body: 400) or ``failed`` (the handler raised or the store
failed: 5xx, so Cryptopay delivers it again). Neither the body, the signature nor the
secret is ever recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from cryptopay_async._errors._messages import clip

MAX_NAME = 60  # a type or event name as the spans and metrics show it, at most


class Event(Protocol):
    """A verified callback as the span names it (``callbacks.Callback``)."""

    @property
    def type(self) -> str: ...

    @property
    def event(self) -> object: ...


class Swept(Protocol):
    """What one sweep did (``callbacks.SweepReport``, read by its shape)."""

    @property
    def events(self) -> list[Any]: ...

    @property
    def failed(self) -> list[Any]: ...

    @property
    def requests(self) -> int: ...

    @property
    def checked(self) -> int: ...

    @property
    def complete(self) -> bool: ...


class Outcome(Protocol):
    """What the receiver answered (``callbacks.CallbackReceiver``'s ``Outcome``; this layer
    is under ``callbacks`` and reads it by its shape)."""

    @property
    def status(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def event(self) -> Event | None: ...


def outcome_name(outcome: Outcome) -> str:
    if outcome.status == 400:
        return "rejected"
    if outcome.status >= 500:
        return "failed"
    if outcome.status == 200 and outcome.text != "duplicate":
        return "handled"
    return "duplicate"  # a repeat: of one handled (200), or of one being handled (409)


class CallbackTelemetry:
    """The tracer and the counter of one receiver."""

    def __init__(self, tracer: trace.Tracer, meter: Any, *, server: bool) -> None:
        self.tracer = tracer
        self.kind = SpanKind.SERVER if server else SpanKind.INTERNAL
        self.deliveries = meter.create_counter(
            "cryptopay.callbacks",
            unit="{callback}",
            description="Callback deliveries received, by type, event and outcome.",
        )

    def delivery(self) -> DeliveryScope:
        return DeliveryScope(self)

    @contextmanager
    def sweep(self) -> Iterator[SweepScope]:
        """The span of one sweep (``callback sweep``, INTERNAL), current while it runs so
        that its API calls are its children; counts only: no event, id or state."""
        scope = SweepScope()
        with self.tracer.start_as_current_span("callback sweep", kind=SpanKind.INTERNAL) as span:
            try:
                yield scope
            except BaseException as exc:  # recorded, with status ERROR, by the SDK's scope
                span.set_attribute("error.type", type(exc).__name__)
                raise
            report = scope.report
            if report is not None:
                span.set_attributes(
                    {
                        "cryptopay.sweep.handed": len(report.events),
                        "cryptopay.sweep.failed": len(report.failed),
                        "cryptopay.sweep.requests": report.requests,
                        "cryptopay.sweep.checked": report.checked,
                        "cryptopay.sweep.complete": report.complete,
                    }
                )


class DeliveryScope:
    """The span of one delivery; ``outcome`` is set before leaving it."""

    __slots__ = ("_context", "_span", "_telemetry", "outcome")

    def __init__(self, telemetry: CallbackTelemetry) -> None:
        self._telemetry = telemetry
        self.outcome: Outcome | None = None

    def __enter__(self) -> DeliveryScope:
        self._span = self._telemetry.tracer.start_span("callback", kind=self._telemetry.kind)
        self._context = context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span, outcome = self._span, self.outcome
        context.detach(self._context)
        attributes: dict[str, Any] = {}
        try:
            error_type: str | None
            if outcome is None:  # the receiver itself failed (or was cancelled)
                name = "failed"
                error_type = type(exc).__name__ if exc is not None else "_OTHER"
            else:
                name = outcome_name(outcome)
                span.set_attribute("http.response.status_code", outcome.status)
                error_type = str(outcome.status) if outcome.status >= 500 else None
                if outcome.event is not None:
                    kind = clip(outcome.event.type, MAX_NAME)
                    event = clip(str(outcome.event.event), MAX_NAME)
                    span.update_name(f"callback {kind}.{event}")
                    attributes["cryptopay.callback.type"] = kind
                    attributes["cryptopay.callback.event"] = event
            attributes["cryptopay.callback.outcome"] = name
            span.set_attributes(attributes)
            if error_type is not None:
                span.set_attribute("error.type", error_type)
                span.set_status(Status(StatusCode.ERROR, error_type))
        finally:
            span.end()
            self._telemetry.deliveries.add(1, attributes)


class SweepScope:
    """Where ``CallbackSweeper.run_once`` leaves its report for the sweep's span."""

    __slots__ = ("report",)

    def __init__(self) -> None:
        self.report: Swept | None = None
