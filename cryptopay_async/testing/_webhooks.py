"""Delivering callbacks like Cryptopay: signed compact-JSON POSTs, retried on the schedule.

Events wait in a queue; the sender sleeps on anyio's clock until the next attempt is
due or something changes (a new event, the emulator clock advanced), never polling.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import attrs
import httpx

from cryptopay_async.callbacks import SIGNATURE_HEADER, signature_for
from cryptopay_async.testing._api import Event
from cryptopay_async.testing._clock import Clock
from cryptopay_async.testing._faults import Faults
from cryptopay_async.testing._wakeup import Wakeup

MAX_RETRIES = 20


def retry_delay(retry: int) -> float:
    """Seconds before retry ``retry`` (0-based): the docs' ``30 + n**4 + n``."""
    return float(30 + retry**4 + retry)


def compact(value: Any) -> bytes:
    """JSON as Cryptopay writes it: no spaces (the signed callback bodies are so)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@attrs.define
class CallbackTarget:
    """Where callbacks go and how they are signed; tests may change it at any time."""

    url: str | None
    secret: str
    time_scale: float = 1.0


@attrs.define
class Delivery:
    """One event on its way to the callback URL, with every attempt's outcome."""

    event: Event
    body: bytes
    due: float  # on the emulator clock's monotonic scale
    retries: int = 0
    outcomes: list[str] = attrs.field(factory=list)
    delivered: bool = False
    abandoned: bool = False
    in_flight: bool = False

    def to_json(self, now: float) -> dict[str, Any]:
        waiting = not (self.delivered or self.abandoned)
        return {
            "type": self.event.type,
            "event": self.event.event,
            "object_id": self.event.data.get("id"),
            "body": self.body.decode(),
            "outcomes": self.outcomes,
            "retries": self.retries,
            "delivered": self.delivered,
            "abandoned": self.abandoned,
            "next_attempt_in": max(self.due - now, 0.0) if waiting else None,
        }


class WebhookSender:
    """Queues events and POSTs them in order; ``time_scale`` shrinks the retry delays.

    ``faults`` (read at each event) may drop an event for good, queue it twice, or hold
    it back so that later events overtake it (see ``Faults``).
    """

    def __init__(
        self, target: CallbackTarget, clock: Clock, faults: Callable[[], Faults] = Faults
    ) -> None:
        self.target = target
        self.clock = clock
        self._faults = faults
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._work = Wakeup()  # new event, clock advanced
        self._idle = Wakeup()  # an attempt finished
        clock.on_advance(self._work.notify)

    def enqueue(self, event: Event) -> None:
        if not self.target.url:
            return
        body = compact({"type": event.type, "event": event.event, "data": event.data})
        faults, now = self._faults(), self.clock.monotonic()
        with self._lock:
            if faults.roll(faults.callback_drop_rate):
                lost = Delivery(event, body, due=now, outcomes=["dropped"], abandoned=True)
                self.deliveries.append(lost)
                return
            copies = 2 if faults.roll(faults.callback_duplicate_rate) else 1
            for _ in range(copies):
                due = now
                if faults.roll(faults.callback_reorder_rate):
                    due += faults.fraction() * retry_delay(0) * self.target.time_scale
                self.deliveries.append(Delivery(event, body, due=due))
        self._work.notify()

    @property
    def pending(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if not (d.delivered or d.abandoned)]

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()
        self._idle.notify()

    def _claim_due(self) -> tuple[list[Delivery], float]:
        """Deliveries due now (marked in flight), and seconds until the next one."""
        now = self.clock.monotonic()
        due, wait = [], math.inf
        for delivery in self.deliveries:
            if delivery.in_flight or delivery.delivered or delivery.abandoned:
                continue
            if delivery.due <= now:
                delivery.in_flight = True
                due.append(delivery)
            else:
                wait = min(wait, delivery.due - now)
        return due, wait

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Deliver due callbacks until cancelled (started by ``client()`` or the server)."""
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            task_status.started()
            while True:
                sleeper = self._work.arm()
                with self._lock:
                    due, wait = self._claim_due()
                if not due:
                    await self._work.sleep(sleeper, wait)
                    continue
                self._work.disarm(sleeper)
                for delivery in due:
                    try:
                        await self._attempt(http, delivery)
                    finally:
                        delivery.in_flight = False
                        self._idle.notify()

    async def _attempt(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        url, secret = self.target.url, self.target.secret
        if not url:
            outcome = "no callback_url"
        else:
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
            delay = retry_delay(delivery.retries) * self.target.time_scale
            delivery.due = self.clock.monotonic() + delay
            delivery.retries += 1

    async def wait_idle(self) -> None:
        """Return once nothing is left to deliver (bound it with ``anyio.fail_after``)."""
        while True:
            sleeper = self._idle.arm()
            if not self.pending:
                self._idle.disarm(sleeper)
                return
            await self._idle.sleep(sleeper)
