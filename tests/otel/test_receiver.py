"""One span and one count per callback delivery, by outcome; never the secret or signature."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI

from cryptopay_async.callbacks import Callback, CallbackReceiver, CallbackSweeper, signature_for
from cryptopay_async.integrations.aiohttp import add_callback_route
from cryptopay_async.integrations.fastapi import callback_router
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator
from tests.integrations.deliveries import completed_invoice_callback, deliver
from tests.otel.otel import Recording
from tests.support import CALLBACK_SECRET, fixture_bytes, serve_aiohttp, serve_asgi

pytestmark = pytest.mark.anyio


class Shop:
    """A handler that fails for the withdrawal events, as a broken handler would."""

    def __init__(self) -> None:
        self.handled: list[str] = []

    async def __call__(self, event: Callback) -> None:
        if event.type == "CoinWithdrawal":
            raise RuntimeError("the ledger is down")
        self.handled.append(event.type)


# (body, signature given or None to sign it, outcome, status, span name)
INVOICE = completed_invoice_callback()
WITHDRAWAL = fixture_bytes("callbacks/coin-withdrawal-status-changed.json")
DELIVERIES = [
    (INVOICE, None, "handled", 200, "callback Invoice.status_changed"),
    (INVOICE, None, "duplicate", 200, "callback Invoice.status_changed"),
    (INVOICE, "0" * 64, "rejected", 400, "callback"),
    (b'{"type":"Invoice"', None, "rejected", 400, "callback"),
    (WITHDRAWAL, None, "failed", 500, "callback CoinWithdrawal.status_changed"),
]


def fastapi_served(providers: dict[str, Any]) -> AbstractContextManager[str]:
    app = FastAPI()
    app.include_router(callback_router(Shop(), secret=CALLBACK_SECRET, **providers))
    return serve_asgi(app)


def aiohttp_served(providers: dict[str, Any]) -> AbstractContextManager[str]:
    app = web.Application()
    add_callback_route(app, Shop(), secret=CALLBACK_SECRET, **providers)
    return serve_aiohttp(app)


@pytest.mark.parametrize("served", [fastapi_served, aiohttp_served], ids=["fastapi", "aiohttp"])
async def test_the_integrations_trace_each_delivery_as_a_server_span(
    served: Callable[[dict[str, Any]], AbstractContextManager[str]],
) -> None:
    recording = Recording()
    signatures: set[str] = set()
    with served(recording.providers) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for body, signature, _, status, _ in DELIVERIES:
                sent = signature if signature is not None else signature_for(body, CALLBACK_SECRET)
                signatures.add(sent)
                answer = await deliver(http, "/cryptopay/callbacks", body, sent)
                assert answer.status_code == status
    spans = sorted(recording.spans(), key=lambda s: s.start_time or 0)
    assert [(s.name, s.kind.name) for s in spans] == [(d[4], "SERVER") for d in DELIVERIES]
    assert [(s.attributes or {})["cryptopay.callback.outcome"] for s in spans] == [
        d[2] for d in DELIVERIES
    ]
    assert [s.status.status_code.name for s in spans] == ["UNSET"] * 4 + ["ERROR"]
    assert (spans[-1].attributes or {})["error.type"] == "500"
    assert dict(spans[0].attributes or {}) == {
        "cryptopay.callback.type": "Invoice",
        "cryptopay.callback.event": "status_changed",
        "cryptopay.callback.outcome": "handled",
        "http.response.status_code": 200,
    }
    counted = {
        (a.get("cryptopay.callback.type"), a["cryptopay.callback.outcome"]): n
        for a, n in recording.points("cryptopay.callbacks")
    }
    assert counted == {
        ("Invoice", "handled"): 1,
        ("Invoice", "duplicate"): 1,
        (None, "rejected"): 2,
        ("CoinWithdrawal", "failed"): 1,
    }
    text = recording.exported_text()
    leaked = [s for s in (CALLBACK_SECRET, *signatures) if s in text]
    assert leaked == []
    assert json.loads(INVOICE)["data"]["id"] not in text  # nor the payload


async def test_the_receiver_alone_makes_internal_spans() -> None:
    recording = Recording()
    receiver = CallbackReceiver(Shop(), secret=CALLBACK_SECRET, **recording.providers)
    outcome = await receiver.receive(INVOICE, signature_for(INVOICE, CALLBACK_SECRET))
    assert outcome.status == 200
    [span] = recording.spans()
    assert (span.name, span.kind.name) == ("callback Invoice.status_changed", "INTERNAL")


def test_a_span_kind_other_than_internal_or_server_is_refused() -> None:
    with pytest.raises(ValueError, match="span_kind"):
        CallbackReceiver(Shop(), secret="x", span_kind="client")  # type: ignore[arg-type]


async def test_each_sweep_is_a_span_over_its_api_calls_with_counts_only() -> None:
    recording = Recording()
    emulator = CryptopayEmulator(rate_limit=100_000)  # no callback URL: every callback lost
    handed: list[Callback] = []

    async def handler(event: Callback) -> None:
        handed.append(event)

    limiter = TokenBucket(10_000, 60.0)
    async with emulator.client(rate_limiter=limiter, **recording.providers) as client:
        invoice = await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )
        emulator.pay_invoice(invoice.id, invoice.pay_amount)
        sweeper = CallbackSweeper(
            client, handler, horizon=timedelta(days=2), share=0.5, **recording.providers
        )
        report = await sweeper.run_once()
    assert report.complete
    assert len(handed) == 1
    [sweep] = [s for s in recording.roots() if s.name == "callback sweep"]
    assert sweep.kind.name == "INTERNAL"
    assert dict(sweep.attributes or {}) == {
        "cryptopay.sweep.handed": 1,
        "cryptopay.sweep.failed": 0,
        "cryptopay.sweep.requests": report.requests,
        "cryptopay.sweep.checked": report.checked,
        "cryptopay.sweep.complete": True,
    }
    calls = [span.name for span in recording.children(sweep)]
    assert len(calls) == report.requests > 0
    assert "invoices.list" in calls
    assert invoice.id not in recording.exported_text()


class LostCheckpoint:
    """A checkpoint whose storage is gone."""

    async def load(self) -> dict[str, Any] | None:
        raise OSError("the disk is gone")

    async def save(self, state: dict[str, Any]) -> None:
        raise OSError("the disk is gone")


async def test_a_sweep_that_raised_is_an_error_span() -> None:
    recording = Recording()
    emulator = CryptopayEmulator()
    async with emulator.client(**recording.providers) as client:

        async def handler(event: Callback) -> None:
            raise AssertionError("nothing to hand")

        sweeper = CallbackSweeper(
            client, handler, checkpoint=LostCheckpoint(), **recording.providers
        )
        with pytest.raises(OSError, match="disk"):
            await sweeper.run_once()
    [sweep] = recording.spans()
    assert sweep.name == "callback sweep"
    assert sweep.status.status_code.name == "ERROR"
    assert (sweep.attributes or {}) == {"error.type": "OSError"}


async def test_a_repeat_while_the_handler_still_runs_counts_as_a_duplicate() -> None:
    recording = Recording()
    release = anyio.Event()

    async def slow(event: Callback) -> None:
        await release.wait()

    receiver = CallbackReceiver(slow, secret=CALLBACK_SECRET, **recording.providers)
    signature = signature_for(INVOICE, CALLBACK_SECRET)
    async with anyio.create_task_group() as tg:
        tg.start_soon(receiver.receive, INVOICE, signature)
        await anyio.wait_all_tasks_blocked()  # the first delivery's handler is running
        repeat = await receiver.receive(INVOICE, signature)
        release.set()
    assert repeat.status == 409
    outcomes = {
        a["cryptopay.callback.outcome"]: n for a, n in recording.points("cryptopay.callbacks")
    }
    assert outcomes == {"handled": 1, "duplicate": 1}
