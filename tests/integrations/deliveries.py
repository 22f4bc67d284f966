"""Posting callbacks to a running app the way Cryptopay does, and checking the answers."""

from __future__ import annotations

import json
import uuid

import httpx

from cryptopay_async.callbacks import SIGNATURE_HEADER, signature_for
from tests.support import CALLBACK_SECRET, fixture_bytes


def completed_invoice_callback() -> bytes:
    """A signed-able invoice ``status_changed`` body for an invoice id never used before."""
    document = json.loads(fixture_bytes("callbacks/invoice-status-changed.json"))
    document["data"]["id"] = str(uuid.uuid4())
    document["data"]["custom_id"] = f"ORDER-{document['data']['id'][:8]}"
    return json.dumps(document).encode()


async def deliver(
    http: httpx.AsyncClient, url: str, body: bytes, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is None:
        signature = signature_for(body, CALLBACK_SECRET)
    if signature:
        headers[SIGNATURE_HEADER] = signature
    return await http.post(url, content=body, headers=headers)


async def exercise_shop(base_url: str, callback_path: str) -> tuple[list[int], str]:
    """Create an invoice, then deliver a completed-invoice callback twice and bad ones.

    Returns the callback answers' statuses and the id of the paid invoice (the stand-in
    API's invoices carry no custom_id, so the example apps credit them by id).
    """
    body = completed_invoice_callback()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        created = await http.post("/orders/42/invoice")
        assert created.status_code == 200, created.text
        assert created.json()["invoice_id"]
        statuses = [
            (await deliver(http, callback_path, body)).status_code,
            (await deliver(http, callback_path, body)).status_code,  # Cryptopay's retry
            (await deliver(http, callback_path, body, signature="0" * 64)).status_code,
            (await deliver(http, callback_path, body, signature="")).status_code,
            (await deliver(http, callback_path, b'{"type":"Invoice"')).status_code,
        ]
    return statuses, json.loads(body)["data"]["id"]


async def deliver_to_each(urls: list[str], path: str, body: bytes) -> list[int]:
    """Deliver ``body`` to each worker's ``path`` in turn (repeats landing on other workers)."""
    async with httpx.AsyncClient(timeout=10) as http:
        return [(await deliver(http, url + path, body)).status_code for url in urls]
