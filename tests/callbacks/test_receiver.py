"""The receiver's log lines stay one line whatever the sender put in a callback."""

from __future__ import annotations

import json
import logging

import pytest

from cryptopay_async.callbacks import Callback, CallbackReceiver, signature_for
from tests.support import CALLBACK_SECRET

pytestmark = pytest.mark.anyio

FORGED = "Payout\nINFO cryptopay_async: forged"


async def test_sender_text_is_escaped_in_every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cryptopay_async.callbacks")
    failures = iter([True, False])

    async def handler(event: Callback) -> None:
        if next(failures, False):
            raise RuntimeError("database down")

    receiver = CallbackReceiver(handler, secret=CALLBACK_SECRET)
    body = json.dumps({"type": FORGED, "event": "x\r\ny", "data": {"id": "1"}}).encode()
    malformed = json.dumps({"type": "Invoice", "event": FORGED, "data": {"id": 1}}).encode()
    signature = signature_for(body, CALLBACK_SECRET)
    statuses = [
        (await receiver.receive(body, signature)).status,  # handler fails: logged
        (await receiver.receive(body, signature)).status,  # handled
        (await receiver.receive(body, signature)).status,  # repeated: logged
        (await receiver.receive(malformed, signature_for(malformed, CALLBACK_SECRET))).status,
        (await receiver.receive(body, "\udcff\n")).status,
    ]
    assert statuses == [500, 200, 200, 400, 400]
    messages = [r.getMessage() for r in caplog.records]
    assert any("Payout\\nINFO cryptopay_async: forged/x\\r\\ny repeated" in m for m in messages)
    assert any("handler failed for Payout\\nINFO" in m for m in messages)
    assert len(messages) == 4
    for message in messages:
        assert message.isprintable()
