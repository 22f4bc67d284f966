"""One span and one count per callback delivery, by outcome; never the secret or signature."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from cryptopay_async.callbacks import Callback, CallbackReceiver, signature_for
from cryptopay_async.integrations.fastapi import callback_router
from tests.integrations.deliveries import completed_invoice_callback, deliver
from tests.otel.otel import Recording
from tests.support import CALLBACK_SECRET, fixture_bytes, serve_asgi

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


async def test_the_fastapi_router_traces_each_delivery_as_a_server_span() -> None:
    recording = Recording()
    app = FastAPI()
    app.include_router(callback_router(Shop(), secret=CALLBACK_SECRET, **recording.providers))
    signatures: set[str] = set()
    with serve_asgi(app) as url:
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
