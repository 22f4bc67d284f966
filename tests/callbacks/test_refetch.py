from __future__ import annotations

import httpx
import pytest

from cryptopay_async.callbacks import UnknownCallback, signature_for, verify
from cryptopay_async.models import ChannelPayment, CoinWithdrawal, Invoice, Subscription
from tests.support import (
    CALLBACK_SECRET,
    Recorder,
    fixture_bytes,
    fixture_json,
    json_response,
    recorded_client,
)

pytestmark = pytest.mark.anyio

ANSWERS = {  # resource in the path -> the recorded body the API gives back
    "invoices": "responses-2023/invoices/retrieve.json",
    "channels": "responses-2023/channels/retrieve_payment.json",
    "coin_withdrawals": "responses-2023/coin_withdrawals/retrieve.json",
    "subscriptions": "responses-2023/subscriptions/retrieve.json",
}


def answer(request: httpx.Request) -> httpx.Response:
    return json_response(200, fixture_json(ANSWERS[request.url.path.split("/")[2]]))


@pytest.mark.parametrize(
    ("body_name", "model", "path"),
    [
        (
            "invoice-transaction-created.json",
            Invoice,
            "/api/invoices/1ed1bc45-a0e2-46b3-a9cc-e7fc861507f1",
        ),
        (
            "channel-payment-created.json",
            ChannelPayment,
            "/api/channels/b6b5c621-3305-478e-b510-1b73f9f7becb"
            "/payments/a0150f60-fea4-4e8c-aaca-32fcb702e66b",
        ),
        ("coin-withdrawal-created.json", CoinWithdrawal, "/api/coin_withdrawals/"),
        (
            "subscription-paid.docs.json",
            Subscription,
            "/api/subscriptions/4e9820e8-2805-47cc-a7d9-6e53bb17b59b",
        ),
    ],
)
async def test_refetch_reads_the_object_back_from_the_api(
    body_name: str, model: type, path: str
) -> None:
    body = fixture_bytes(f"callbacks/{body_name}")
    event = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    recorder = Recorder(answer)
    async with recorded_client(recorder) as client:
        current = await client.callbacks.refetch(event)
    assert isinstance(current, model)
    assert len(recorder.requests) == 1
    assert recorder.requests[0].method == "GET"
    assert recorder.requests[0].url.path.startswith(path)


async def test_an_unknown_callback_cannot_be_refetched() -> None:
    async with recorded_client(Recorder(answer)) as client:
        with pytest.raises(TypeError, match="unknown type"):
            await client.callbacks.refetch(UnknownCallback(type="X", event="y", data={}))
