"""``CryptopayEmulator``: a stateful Cryptopay API for tests, in-process or on loopback."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
import attrs
import httpx

from cryptopay_async._client import AsyncCryptopay
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing._app import DROPPED_HEADER, EmulatorApp
from cryptopay_async.testing._state import JSON, EmulatedApi, LedgerEntry
from cryptopay_async.testing._webhooks import WebhookSender

IN_PROCESS_URL = "http://cryptopay-emulator.invalid"


@attrs.define
class Faults:
    """What goes wrong, and how often. Rates are probabilities per request (0 to 1).

    503s (and maintenance) refuse a request before it is processed; 500s, dropped
    connections and delayed answers happen *after* it was processed, the worst case for a
    client. ``latency`` waits before processing; ``delay_seconds`` (with probability
    ``delay_rate``) waits after it, so a client whose timeout is shorter gives up on a
    request that did go through.
    """

    latency: float = 0.0
    error_500_rate: float = 0.0
    error_503_rate: float = 0.0
    drop_rate: float = 0.0
    maintenance: bool = False
    delay_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    _random: random.Random = attrs.field(init=False, factory=random.Random)

    def __attrs_post_init__(self) -> None:
        self._random.seed(self.seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate


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
        if DROPPED_HEADER.decode() in response.headers:
            raise httpx.RemoteProtocolError(
                "server closed the connection before the answer was complete", request=request
            )
        return response


class CryptopayEmulator:
    """A local Cryptopay API that speaks the real protocol.

    Signed requests (401 otherwise), real payload shapes and error bodies, a per-key
    sliding-window rate limit of ``rate_limit`` per ``rate_period`` seconds (429 past
    it), injectable faults, signed webhooks with retries, and a ``ledger`` of every
    money movement. Use ``async with emulator.client() as client`` in-process, or serve
    ``emulator.asgi_app`` (``python -m cryptopay_async.testing serve``).
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
    ) -> None:
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.api_key = api_key or f"emu_{secrets.token_urlsafe(12)}"
        self.api_secret = api_secret or secrets.token_urlsafe(32)
        self.callback_secret = callback_secret or secrets.token_urlsafe(32)
        self.callback_url = callback_url
        self.callback_time_scale = callback_time_scale
        self.faults = faults or Faults()
        self.lock = threading.RLock()  # the app may run in a server thread
        self.requests_seen = 0
        self.rate_limited = 0
        self.errors_answered: dict[int, int] = {}
        self.webhooks = WebhookSender(self)
        self.api = EmulatedApi(now=lambda: datetime.now(UTC), on_event=self.webhooks.enqueue)
        self.asgi_app = EmulatorApp(self)

    def __repr__(self) -> str:
        return f"CryptopayEmulator(api_key={self.api_key!r}, rate_limit={self.rate_limit})"

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
            await tg.start(self.webhooks.run)
            try:
                yield client
            finally:
                tg.cancel_scope.cancel()

    # ---- test controls -------------------------------------------------------------

    def pay_invoice(
        self, invoice_id: str, amount: Decimal | str | None = None, *, late: bool = False
    ) -> JSON:
        """Simulate the payer: exact (default), partial or over-payment, or a late one."""
        with self.lock:
            paid = None if amount is None else Decimal(amount)
            return self.api.pay_invoice(invoice_id, paid, late=late)

    def pay_channel(self, channel_id: str, amount: Decimal | str) -> JSON:
        """Simulate a transfer to a channel's address."""
        with self.lock:
            return self.api.pay_channel(channel_id, Decimal(amount))

    def complete_withdrawal(self, coin_withdrawal_id: str) -> JSON:
        """Simulate the blockchain confirming a committed payout."""
        with self.lock:
            return self.api.complete_withdrawal(coin_withdrawal_id)

    @property
    def ledger(self) -> list[LedgerEntry]:
        """Every money movement, in order: assert nothing happened twice."""
        return list(self.api.ledger)

    def ledger_for(self, custom_id: str) -> list[LedgerEntry]:
        return [entry for entry in self.api.ledger if entry.custom_id == custom_id]

    async def flush_webhooks(self) -> None:
        """Wait until every queued callback was delivered or given up (use ``fail_after``)."""
        await self.webhooks.wait_idle()
