"""Which tracer and meter providers to use, decided once: the ones passed, else the global.

A provider counts as configured when it is not the API's placeholder: the global proxy
before ``set_tracer_provider`` / ``set_meter_provider``, or a no-op provider. When neither
is configured (or the API is not installed) there is nothing to record, and ``resolve``
says so with ``None`` so that the caller builds nothing.
"""

from __future__ import annotations

from typing import Any

from cryptopay_async._version import __version__

SCOPE = "cryptopay_async"
"""The instrumentation scope name of every tracer and meter (with the package version)."""


def resolve(tracer_provider: Any, meter_provider: Any) -> tuple[Any, Any] | None:
    """``(tracer, meter)`` of the ``cryptopay_async`` scope, or None when neither records.

    When only one of the two providers is configured, the other is the API's no-op.
    """
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        if tracer_provider is not None or meter_provider is not None:
            raise ImportError(
                "tracer_provider and meter_provider need OpenTelemetry: "
                'pip install "cryptopay-async[otel]"'
            ) from None
        return None
    if tracer_provider is None:
        tracer_provider = trace.get_tracer_provider()
    if meter_provider is None:
        meter_provider = metrics.get_meter_provider()
    traces = _configured_tracer_provider(tracer_provider)
    measures = _configured_meter_provider(meter_provider)
    if not traces and not measures:
        return None
    if not traces:
        tracer_provider = trace.NoOpTracerProvider()
    if not measures:
        meter_provider = metrics.NoOpMeterProvider()
    tracer = tracer_provider.get_tracer(SCOPE, __version__)
    meter = meter_provider.get_meter(SCOPE, __version__)
    return tracer, meter


def _configured_tracer_provider(provider: Any) -> bool:
    from opentelemetry import trace

    if not isinstance(provider, trace.TracerProvider):
        raise TypeError(
            "tracer_provider must be an opentelemetry TracerProvider, "
            f"got {type(provider).__name__}"
        )
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _configured_meter_provider(provider: Any) -> bool:
    from opentelemetry import metrics

    if not isinstance(provider, metrics.MeterProvider):
        raise TypeError(
            f"meter_provider must be an opentelemetry MeterProvider, got {type(provider).__name__}"
        )
    # The global placeholder's class is private to the API; it is recognised by name.
    placeholder = type(provider).__name__ == "_ProxyMeterProvider"
    return not placeholder and not isinstance(provider, metrics.NoOpMeterProvider)
