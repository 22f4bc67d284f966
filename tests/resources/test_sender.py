"""Resources need only a ``Sender``: anything with ``send`` and ``retry_policy`` will do."""

from __future__ import annotations

import httpx
import pytest

from cryptopay_async import RetryPolicy
from cryptopay_async.models import Invoice
from cryptopay_async.resources import Resources
from cryptopay_async.resources._sender import CallOptions
from tests.support import fixture_bytes


class ReplayingSender:
    """A stand-in for the client's chain: records each call, answers with one body."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[tuple[str, str, bytes | None]] = []
        self.retry_policy = RetryPolicy(max_retries=0)

    async def send(
        self, method: str, target: str, body: bytes | None, options: CallOptions | None = None
    ) -> httpx.Response:
        self.calls.append((method, target, body))
        request = httpx.Request(method, "https://h" + target, content=body)
        return httpx.Response(200, content=self.body, request=request)


@pytest.mark.anyio
async def test_operations_run_over_any_sender_without_a_client() -> None:
    sender = ReplayingSender(fixture_bytes("responses-2023/invoices/retrieve.json"))
    resources = Resources(sender)
    invoice = await resources.invoices.retrieve("c8233d57/..")
    assert isinstance(invoice, Invoice)
    assert sender.calls == [("GET", "/api/invoices/c8233d57%2F..", None)]


@pytest.mark.anyio
async def test_pages_and_single_objects_share_one_meaning_of_result() -> None:
    sender = ReplayingSender(fixture_bytes("responses-2023/invoices/list.json"))
    page = await Resources(sender).invoices.list(customer_id="C-1")
    assert all(isinstance(item, Invoice) for item in page.data)
    assert sender.calls == [("GET", "/api/invoices?customer_id=C-1", None)]


def test_every_resource_is_bound_to_the_one_sender() -> None:
    sender = ReplayingSender(b"{}")
    resources = Resources(sender)
    for name in resources.__slots__:
        if name not in ("sender", "memory"):
            assert getattr(resources, name)._sender is sender, name
