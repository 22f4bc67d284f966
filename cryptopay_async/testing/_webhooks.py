"""Delivering callbacks like Cryptopay: signed POSTs, retried on the documented schedule."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import attrs
import httpx

from cryptopay_async.callbacks import SIGNATURE_HEADER, signature_for
from cryptopay_async.testing._state import Event

if TYPE_CHECKING:
    from cryptopay_async.testing._emulator import CryptopayEmulator

MAX_RETRIES = 20


def retry_delay(retry: int) -> float:
    """Seconds before retry ``retry`` (0-based): the docs' ``30 + n**4 + n``."""
    return float(30 + retry**4 + retry)


@attrs.define
class Delivery:
    """One event on its way to the callback URL, with every attempt's outcome."""

    event: Event
    body: bytes
    due: float
    retries: int = 0
    outcomes: list[str] = attrs.field(factory=list)
    delivered: bool = False
    abandoned: bool = False


class WebhookSender:
    """Queues events and POSTs them one by one; ``time_scale`` shrinks the retry delays."""

    def __init__(self, emulator: CryptopayEmulator) -> None:
        self.emulator = emulator
        self.deliveries: list[Delivery] = []

    def enqueue(self, event: Event) -> None:
        if not self.emulator.callback_url:
            return
        body = json.dumps({"type": event.type, "event": event.event, "data": event.data}).encode()
        self.deliveries.append(Delivery(event, body, due=time.monotonic()))

    @property
    def pending(self) -> list[Delivery]:
        return [d for d in self.deliveries if not (d.delivered or d.abandoned)]

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Deliver due callbacks until cancelled (started by ``client()`` or the server)."""
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            task_status.started()
            while True:
                now = time.monotonic()
                for delivery in [d for d in self.pending if d.due <= now]:
                    await self._attempt(http, delivery)
                await anyio.sleep(0.005)

    async def _attempt(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        url = self.emulator.callback_url
        secret = self.emulator.callback_secret
        assert url is not None
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_for(delivery.body, secret),
        }
        try:
            response = await http.post(url, content=delivery.body, headers=headers)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        delivery.outcomes.append(outcome)
        if outcome == "200":
            delivery.delivered = True
        elif delivery.retries >= MAX_RETRIES:
            delivery.abandoned = True
        else:
            delay = retry_delay(delivery.retries) * self.emulator.callback_time_scale
            delivery.due = time.monotonic() + delay
            delivery.retries += 1

    async def wait_idle(self) -> None:
        """Return once nothing is left to deliver (bound it with ``anyio.fail_after``)."""
        while True:
            if not self.pending:
                return
            await anyio.sleep(0.005)
