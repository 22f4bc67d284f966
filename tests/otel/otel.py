"""The real OpenTelemetry SDK, recording in memory: what a test reads back from it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricsData,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def attribute(span: ReadableSpan, name: str, default: Any = None) -> Any:
    """An attribute of ``span``, typed loosely for the tests' arithmetic."""
    return (span.attributes or {}).get(name, default)


class Recording:
    """A tracer provider and a meter provider of the SDK, exporting to memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self._metrics: MetricsData | None = None

    @property
    def providers(self) -> dict[str, Any]:
        """The keyword arguments that make a client or receiver record here."""
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def children(self, span: ReadableSpan) -> list[ReadableSpan]:
        """``span``'s children, in the order they started."""
        found = [
            s
            for s in self.spans()
            if s.parent is not None
            and span.context is not None
            and s.parent.span_id == span.context.span_id
        ]
        return sorted(found, key=lambda s: s.start_time or 0)

    def roots(self) -> list[ReadableSpan]:
        return sorted(
            (s for s in self.spans() if s.parent is None), key=lambda s: s.start_time or 0
        )

    def tree(self, span: ReadableSpan, depth: int = 0) -> Iterator[str]:
        """``span`` and its descendants, one indented line each: name, kind, attributes."""
        attributes = ", ".join(f"{k}={v!r}" for k, v in sorted((span.attributes or {}).items()))
        status = " ERROR" if span.status.status_code.name == "ERROR" else ""
        yield f"{'  ' * depth}{span.name} [{span.kind.name}{status}] {attributes}"
        for child in self.children(span):
            yield from self.tree(child, depth + 1)

    def shape(self, span: ReadableSpan) -> list[str]:
        """The tree as names and kinds only."""
        lines = [f"{span.name} {span.kind.name}"]
        lines += ["  " + line for child in self.children(span) for line in self.shape(child)]
        return lines

    def metrics(self) -> MetricsData:
        """Collected once per test: a reader's cumulative data, read once."""
        if self._metrics is None:
            data = self.reader.get_metrics_data()
            assert data is not None
            self._metrics = data
        return self._metrics

    def points(self, name: str) -> list[tuple[dict[str, Any], float]]:
        """``(attributes, value)`` of each data point of instrument ``name``; a
        histogram's value is its count."""
        found: list[tuple[dict[str, Any], float]] = []
        for resource in self.metrics().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        if isinstance(point, HistogramDataPoint):
                            found.append((dict(point.attributes or {}), point.count))
                        elif isinstance(point, NumberDataPoint):
                            found.append((dict(point.attributes or {}), point.value))
        return found

    @staticmethod
    def waiting(data: MetricsData | None) -> float | None:
        """The ``cryptopay.ratelimit.waiting`` value in one collection, if there is one."""
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "cryptopay.ratelimit.waiting":
                        point = metric.data.data_points[0]
                        assert isinstance(point, NumberDataPoint)
                        return point.value
        return None

    def total(self, name: str, **where: Any) -> float:
        """The sum over the points of ``name`` whose attributes include ``where``
        (names with dots written with ``__``: ``error__type="500"``)."""
        wanted = {key.replace("__", "."): value for key, value in where.items()}
        return sum(
            value
            for attributes, value in self.points(name)
            if all(attributes.get(k) == v for k, v in wanted.items())
        )

    def by(self, name: str, attribute: str) -> Counter[Any]:
        """The totals of ``name`` per value of ``attribute``."""
        totals: Counter[Any] = Counter()
        for attributes, value in self.points(name):
            totals[attributes.get(attribute)] += int(value)
        return totals

    def instruments(self) -> dict[str, str]:
        """Every instrument recorded: name to unit."""
        return {
            metric.name: metric.unit or ""
            for resource in self.metrics().resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def exported_text(self) -> str:
        """Everything exported, as the exporters' JSON: every name, attribute, event and
        metric label, to scan for what must never be there."""
        spans = "\n".join(span.to_json() for span in self.spans())
        return spans + "\n" + self.metrics().to_json()
