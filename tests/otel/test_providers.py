"""When nothing records, nothing is built: the decision is taken once, at construction."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry import metrics, trace

from cryptopay_async import AsyncCryptopay, _telemetry
from cryptopay_async._otel import _client
from cryptopay_async.callbacks import CallbackReceiver
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator
from tests.otel.otel import Recording

pytestmark = pytest.mark.anyio

INVOICE: dict[str, Any] = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("telemetry was used although no provider records")


async def test_without_a_configured_provider_no_call_builds_or_touches_telemetry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The suite never sets the global providers: they are the API's placeholders.
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
    assert type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    for name in ("__init__", "__enter__"):
        monkeypatch.setattr(_client.OperationScope, name, refuse)
    monkeypatch.setattr(_client.AttemptStep, "__call__", refuse)
    monkeypatch.setattr(_client.MeteredLimiter, "acquire", refuse)
    monkeypatch.setattr(_telemetry.OperationRecord, "__init__", refuse)
    emulator = CryptopayEmulator()
    async with emulator.client(rate_limiter=TokenBucket(100, 1)) as client:
        assert client._runtime.telemetry is None
        assert client.invoices._telemetry is None
        monkeypatch.setattr(trace, "get_tracer_provider", refuse)
        monkeypatch.setattr(metrics, "get_meter_provider", refuse)
        created = await client.invoices.create(**INVOICE, custom_id="NIL-1")
        await client.invoices.retrieve(created.id)
        assert [i.id async for i in client.invoices.list()] == [created.id]


def test_a_global_provider_is_used_when_none_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    recording = Recording()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: recording.tracer_provider)
    client = AsyncCryptopay(api_key="k", api_secret="s", base_url="https://api.example")
    assert client._runtime.telemetry is not None
    assert CallbackReceiver(refuse, secret="x")._telemetry is not None


@pytest.mark.parametrize(
    ("providers", "records"),
    [
        ({}, False),
        ({"tracer_provider": trace.NoOpTracerProvider()}, False),
        ({"meter_provider": metrics.NoOpMeterProvider()}, False),
        ({"tracer_provider": Recording().tracer_provider}, True),
        ({"meter_provider": Recording().meter_provider}, True),
    ],
    ids=["none", "no-op tracer", "no-op meter", "SDK tracer only", "SDK meter only"],
)
def test_telemetry_is_built_only_when_a_provider_records(
    providers: dict[str, Any], records: bool
) -> None:
    client = AsyncCryptopay(
        api_key="k",
        api_secret="s",
        base_url="https://x.example",
        tracer_provider=providers.get("tracer_provider"),
        meter_provider=providers.get("meter_provider"),
    )
    assert (client._runtime.telemetry is not None) is records


@pytest.mark.parametrize("argument", ["tracer_provider", "meter_provider"])
def test_something_else_as_a_provider_is_refused_by_name(argument: str) -> None:
    options: dict[str, Any] = {argument: object()}
    with pytest.raises(TypeError, match=argument):
        AsyncCryptopay(api_key="k", api_secret="s", **options)


def test_without_opentelemetry_installed_calls_work_and_never_import_it() -> None:
    program = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        import anyio
        from cryptopay_async.testing import CryptopayEmulator

        async def main():
            emulator = CryptopayEmulator()
            async with emulator.client() as client:
                assert client._runtime.telemetry is None
                await client.coins.list()
            try:
                from cryptopay_async import AsyncCryptopay
                AsyncCryptopay(api_key="k", api_secret="s", tracer_provider=object())
            except ImportError as exc:
                print(exc)

        anyio.run(main)
        assert not [m for m in sys.modules if m.startswith("opentelemetry.")], "imported"
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "cryptopay-async[otel]"' in done.stdout
