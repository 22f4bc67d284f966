"""The emulator's ASGI application: the protocol around the emulated API.

Every request is authenticated exactly as the real API does it (HMAC-SHA1 over method,
body MD5, content type, ``Date`` within 15 minutes, path and query as sent), counted
against the key's sliding-window limit, routed to one of the 40 operations, and
answered with the documented envelopes and error payloads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import anyio

from cryptopay_async.resources import OPERATIONS
from cryptopay_async.testing._state import ApiError, invalid

if TYPE_CHECKING:
    from cryptopay_async.testing._emulator import CryptopayEmulator

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CLOCK_SKEW = timedelta(minutes=15)
DROPPED_HEADER = b"x-emulator-dropped"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Cursors and path ids the real server validates as UUIDs (customers use merchant ids).
UUID_PARAMS = {
    "account_id",
    "channel_id",
    "channel_payment_id",
    "coin_withdrawal_id",
    "exchange_transfer_id",
    "invoice_id",
    "recalculation_id",
    "subscription_id",
}


def _route(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


ROUTES = sorted(
    ((op.method, _route(op.path), op.name, len(op.path_params)) for op in OPERATIONS),
    key=lambda route: route[3],  # literal segments win: /network_fees before /{id}
)


class RateWindow:
    """Per-key sliding window: at most ``limit`` requests in any ``period`` seconds."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self.recent: dict[str, deque[float]] = {}

    def admit(self, key: str) -> bool:
        now = self.clock()
        log = self.recent.setdefault(key, deque())
        while log and log[0] <= now - self.period:
            log.popleft()
        if len(log) >= self.limit:
            return False
        log.append(now)
        return True


class EmulatorApp:
    """ASGI callable; also handles lifespan so a served emulator delivers webhooks."""

    def __init__(self, emulator: CryptopayEmulator) -> None:
        self.emulator = emulator
        self.window = RateWindow(emulator.rate_limit, emulator.rate_period, time.monotonic)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload, dropped = await self.handle(scope, body)
        headers = [(b"content-type", b"application/json; charset=utf-8")]
        if dropped:
            # The work is done but the answer is lost: announce more bytes than we send,
            # so the server closes the connection mid-body, as a dropped link would.
            headers += [
                (b"content-length", str(len(payload) + 64).encode()),
                (DROPPED_HEADER, b"1"),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Deliver webhooks from startup to shutdown of the server."""
        async with anyio.create_task_group() as tg:
            while (await receive())["type"] != "lifespan.startup":
                pass
            await tg.start(self.emulator.webhooks.run)
            await send({"type": "lifespan.startup.complete"})
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            tg.cancel_scope.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    async def handle(self, scope: Scope, body: bytes) -> tuple[int, bytes, bool]:
        """(status, body, dropped) for one request."""
        emulator = self.emulator
        faults = emulator.faults
        request_id = secrets.token_hex(16)
        emulator.requests_seen += 1
        if faults.latency:
            await anyio.sleep(faults.latency)
        try:
            # Header bytes are Latin-1 on the wire (ASGI passes them raw): decoding them so
            # never fails, and a non-ASCII Date or Authorization is then a plain 401.
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            target = scope["raw_path"].decode("latin-1")
            if scope["query_string"]:
                target += "?" + scope["query_string"].decode("latin-1")
            key = self._authenticate(scope["method"], body, headers, target)
            if not self.window.admit(key):
                emulator.rate_limited += 1
                raise ApiError(429, "rate_limit_exceeded", "API rate limit exceeded")
            if faults.maintenance or faults.roll(faults.error_503_rate):
                raise ApiError(503, "service_unavailable", "service unavailable")
            # Route on the path as sent: a merchant id may hold an encoded "/".
            raw_path = _text(scope["raw_path"]).split("?", 1)[0]
            data, meta = self._dispatch(scope["method"], raw_path, scope["query_string"], body)
        except ApiError as error:
            emulator.errors_answered[error.status] = (
                emulator.errors_answered.get(error.status, 0) + 1
            )
            return error.status, _error_body(error, request_id), False
        status = 201 if scope["method"] == "POST" and _creates(scope["path"]) else 200
        if faults.roll(faults.error_500_rate):  # processed, but the answer says it failed
            return (
                500,
                _error_body(ApiError(500, "internal_error", "internal error"), request_id),
                False,
            )
        envelope: dict[str, Any] = {"data": data}
        if meta is not None:
            envelope["meta"] = meta
        dropped = faults.roll(faults.drop_rate)
        if not dropped and faults.roll(faults.delay_rate):  # processed, but answered late
            await anyio.sleep(faults.delay_seconds)
        return status, json.dumps(envelope).encode(), dropped

    def _authenticate(self, method: str, body: bytes, headers: dict[str, str], target: str) -> str:
        emulator = self.emulator
        match = re.fullmatch(r"HMAC ([!-9;-~]+):([!-~]+)", headers.get("authorization", ""))
        if not match or match.group(1) != emulator.api_key:
            raise ApiError(401, "unauthenticated", "unauthenticated")
        date = headers.get("date", "")
        try:
            sent_at = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise ApiError(401, "unauthenticated", "unauthenticated") from None
        if sent_at.tzinfo is None or abs(datetime.now(UTC) - sent_at) > CLOCK_SKEW:
            raise ApiError(401, "unauthenticated", "unauthenticated")
        digest = hashlib.md5(body, usedforsecurity=False).hexdigest() if body else ""
        content_type = headers.get("content-type", "")
        message = "\n".join([method, digest, content_type, date, target]).encode()
        mac = hmac.new(emulator.api_secret.encode(), message, hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(mac).decode(), match.group(2)):
            raise ApiError(401, "unauthenticated", "unauthenticated")
        return match.group(1)

    def _dispatch(
        self, method: str, path: str, query_string: bytes, body: bytes
    ) -> tuple[Any, dict[str, Any] | None]:
        for route_method, pattern, name, _ in ROUTES:
            found = pattern.match(path) if route_method == method else None
            if found is None:
                continue
            params = {k: unquote(v) for k, v in found.groupdict().items()}
            for param, value in params.items():
                if param in UUID_PARAMS and not UUID.match(value):
                    raise invalid(param, "must_be_uuid", "must be an uuid")
            query = dict(parse_qsl(_text(query_string), keep_blank_values=True))
            cursor = query.get("starting_after")
            if cursor and name != "customers.list" and not UUID.match(cursor):
                raise invalid("starting_after", "must_be_uuid", "must be an uuid")
            payload = _json_object(body)
            handler = getattr(self.emulator.api, name.replace(".", "_"))
            with self.emulator.lock:
                result: tuple[Any, dict[str, Any] | None] = handler(params, query, payload)
            return result
        raise ApiError(404, "not_found", "not found")


def _text(raw: bytes) -> str:
    """A path or query as UTF-8 text; other bytes are the client's mistake (400)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "the request target is not UTF-8") from None


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "request body is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", "request body must be a JSON object")
    return value


def _creates(path: str) -> bool:
    return not path.endswith(("/commit", "/cancel", "/score"))


def _error_body(error: ApiError, request_id: str) -> bytes:
    return json.dumps(
        {
            "error": {"code": error.code, "message": error.message, "details": error.details},
            "meta": {"request_id": request_id},
        }
    ).encode()
