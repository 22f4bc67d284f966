"""``CryptopayEmulator``: a stateful Cryptopay API for tests, in-process or on loopback.

This module wires the parts together: the emulated API (``_api``), its clock, the
webhook sender, and the Starlette app with its control routes. Each part receives only
the collaborators it uses.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import anyio
import anyio.abc
import httpx
from starlette.types import ASGIApp

from cryptopay_async._client import AsyncCryptopay
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing._api import JSON, EmulatedApi, LedgerEntry
from cryptopay_async.testing._api.store import Answer
from cryptopay_async.testing._app import DROPPED_HEADER, ApiSide, Counters, build_app
from cryptopay_async.testing._clock import Clock
from cryptopay_async.testing._control import ControlAccess, control_routes
from cryptopay_async.testing._faults import Faults
from cryptopay_async.testing._protocol import Credentials, RateWindow
from cryptopay_async.testing._wakeup import Wakeup
from cryptopay_async.testing._webhooks import CallbackTarget, WebhookSender

IN_PROCESS_URL = "http://cryptopay-emulator.invalid"

__all__ = ["IN_PROCESS_URL", "CryptopayEmulator", "Faults"]


class _InProcessTransport(httpx.ASGITransport):
    """Calls the app directly; a dropped connection and a slow answer surface as on TCP.

    ``httpx.ASGITransport`` ignores timeouts, so the request's read timeout bounds the
    whole exchange here and ends it with ``httpx.ReadTimeout``. Processing itself has no
    await point: a timeout during ``Faults.latency`` means "not processed", one during
    ``Faults.delay_seconds`` means "processed, answer never seen".
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limit = (request.extensions.get("timeout") or {}).get("read")
        try:
            with anyio.fail_after(limit):
                response = await super().handle_async_request(request)
        except TimeoutError:
            message = "the emulator did not answer in time"
            raise httpx.ReadTimeout(message, request=request) from None
        if DROPPED_HEADER in response.headers:
            raise httpx.RemoteProtocolError(
                "server closed the connection before the answer was complete", request=request
            )
        return response


class CryptopayEmulator:
    """A local Cryptopay API that speaks the real protocol.

    Signed requests (401 otherwise), real payload shapes and error bodies, a per-key
    sliding-window rate limit of ``rate_limit`` per ``rate_period`` seconds (429 past
    it), injectable faults, signed webhooks with retries, a clock tests can advance, and
    a ``ledger`` of every money movement. Use ``async with emulator.client() as client``
    in-process, or serve ``emulator.asgi_app`` (``python -m cryptopay_async.testing
    serve``), whose ``/_emulator`` control routes answer loopback clients (or holders of
    ``control_token``).
    """

    def __init__(
        self,
        *,
        rate_limit: int = 200,
        rate_period: float = 60.0,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | None = None,
        callback_url: str | None = None,
        callback_time_scale: float = 1.0,
        faults: Faults | None = None,
        control_token: str | None = None,
    ) -> None:
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.faults: Faults = faults or Faults()
        self.control_token = control_token
        self.lock: threading.RLock = threading.RLock()  # the app may run in a server thread
        self.clock: Clock = Clock()
        self._credentials = Credentials(
            api_key or f"emu_{secrets.token_urlsafe(12)}", api_secret or secrets.token_urlsafe(32)
        )
        self._target = CallbackTarget(
            callback_url, callback_secret or secrets.token_urlsafe(32), callback_time_scale
        )
        self.webhooks: WebhookSender = WebhookSender(self._target, self.clock, lambda: self.faults)
        self.api: EmulatedApi = EmulatedApi(now=self.clock.now, on_event=self._on_event)
        self._counters = Counters()
        self._timers = Wakeup()
        self.clock.on_advance(self._timers.notify)
        self._window = RateWindow(rate_limit, rate_period, time.monotonic)
        side = ApiSide(
            self._credentials, self._window, lambda: self.faults, self._counters, self._dispatch
        )
        routes = control_routes(self, ControlAccess(control_token))
        self.asgi_app: ASGIApp = build_app(side, routes, self.run_background)

    def __repr__(self) -> str:
        return f"CryptopayEmulator(api_key={self.api_key!r}, rate_limit={self.rate_limit})"

    # ---- settings tests read and change ---------------------------------------------

    @property
    def api_key(self) -> str:
        return self._credentials.api_key

    @property
    def api_secret(self) -> str:
        return self._credentials.api_secret

    def add_api_key(self, api_key: str, api_secret: str) -> None:
        """Accept requests signed with another key too (another account of a platform;
        they share this emulator's data, each key has its own rate-limit window)."""
        self._credentials.others[api_key] = api_secret

    @property
    def requests_by_key(self) -> dict[str, int]:
        """Requests admitted per API key within the current rate-limit window."""
        return self._window.counts()

    @property
    def callback_url(self) -> str | None:
        return self._target.url

    @callback_url.setter
    def callback_url(self, url: str | None) -> None:
        self._target.url = url

    @property
    def callback_secret(self) -> str:
        return self._target.secret

    @property
    def callback_time_scale(self) -> float:
        return self._target.time_scale

    @callback_time_scale.setter
    def callback_time_scale(self, scale: float) -> None:
        self._target.time_scale = scale

    @property
    def requests_seen(self) -> int:
        return self._counters.requests_seen

    @property
    def rate_limited(self) -> int:
        return self._counters.rate_limited

    @property
    def answers_dropped(self) -> int:
        """Answers lost after processing: the connection closed mid-body (``drop_rate``)."""
        return self._counters.answers_dropped

    @property
    def errors_answered(self) -> dict[int, int]:
        return self._counters.errors_answered

    # ---- running ---------------------------------------------------------------------

    def _dispatch(self, operation: str, params: JSON, query: JSON, body: JSON) -> Answer:
        with self.lock:
            return self.api.call(operation, params, query, body)

    def _on_event(self, event: Any) -> None:
        self.webhooks.enqueue(event)
        self._timers.notify()  # a new invoice may expire before the next known deadline

    async def run_background(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Deliver webhooks and apply expiry on time, until cancelled."""
        async with anyio.create_task_group() as tg:
            await tg.start(self.webhooks.run)
            tg.start_soon(self._expire_on_time)
            task_status.started()

    async def _expire_on_time(self) -> None:
        while True:
            sleeper = self._timers.arm()
            with self.lock:
                self.api.tick()
                deadline = self.api.next_deadline()
            wait = math.inf if deadline is None else (deadline - self.clock.now()).total_seconds()
            await self._timers.sleep(sleeper, wait)

    @asynccontextmanager
    async def client(self, **options: Any) -> AsyncIterator[AsyncCryptopay]:
        """An ``AsyncCryptopay`` wired to this emulator in-process; delivers webhooks meanwhile.

        Its limiter matches the emulator's window unless ``rate_limiter=`` says otherwise.
        """
        settings: dict[str, Any] = {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "callback_secret": self.callback_secret,
            "base_url": IN_PROCESS_URL,
            "rate_limiter": TokenBucket(self.rate_limit, self.rate_period),
            **options,
        }
        transport = _InProcessTransport(app=self.asgi_app)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncCryptopay(http_client=http, **settings) as client,
            anyio.create_task_group() as tg,
        ):
            await tg.start(self.run_background)
            try:
                yield client
            finally:
                tg.cancel_scope.cancel()

    # ---- test controls (also served as /_emulator routes) ----------------------------

    def pay_invoice(
        self, invoice_id: str, amount: Decimal | str | None = None, *, late: bool = False
    ) -> JSON:
        """Simulate the payer: exact (default), partial or over-payment, or a late one.

        A payment after the invoice expired (on the emulator clock) is late anyway.
        """
        with self.lock:
            paid = None if amount is None else Decimal(amount)
            return self.api.pay_invoice(invoice_id, paid, late=late)

    def pay_channel(
        self, channel_id: str, amount: Decimal | str, currency: str | None = None
    ) -> JSON:
        """Simulate a transfer to a channel's address."""
        with self.lock:
            return self.api.pay_channel(channel_id, Decimal(amount), currency)

    def complete_withdrawal(self, coin_withdrawal_id: str) -> JSON:
        """Simulate the blockchain confirming a committed payout."""
        with self.lock:
            return self.api.complete_withdrawal(coin_withdrawal_id)

    def fail_withdrawal(self, coin_withdrawal_id: str) -> JSON:
        """Simulate a committed payout failing (``failed`` is not final; nothing returns)."""
        with self.lock:
            return self.api.fail_withdrawal(coin_withdrawal_id)

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator clock ahead: expiry, commit windows and retries follow."""
        self.clock.advance(seconds)
        with self.lock:
            self.api.tick()
        return self.clock.now()

    @property
    def ledger(self) -> list[LedgerEntry]:
        """Every money movement, in order: assert nothing happened twice."""
        with self.lock:
            return list(self.api.ledger)

    def ledger_for(self, custom_id: str) -> list[LedgerEntry]:
        return [entry for entry in self.ledger if entry.custom_id == custom_id]

    def webhook_report(self) -> list[JSON]:
        """Every callback queued: its body, the answers it got, and what comes next."""
        now = self.clock.monotonic()
        return [delivery.to_json(now) for delivery in list(self.webhooks.deliveries)]

    def reset(self) -> None:
        """Forget every object, balance change, callback and fault; the clock back to now."""
        with self.lock:
            self.clock.reset()
            self.api = EmulatedApi(now=self.clock.now, on_event=self._on_event)
            self.webhooks.clear()
            self._window.clear()
            self.faults = Faults()
            self._counters.requests_seen = self._counters.rate_limited = 0
            self._counters.answers_dropped = 0
            self._counters.errors_answered.clear()
        self._timers.notify()

    async def flush_webhooks(self) -> None:
        """Wait until every queued callback was delivered or given up (use ``fail_after``)."""
        await self.webhooks.wait_idle()
