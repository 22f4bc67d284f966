"""The emulator's ASGI application: Starlette routes around the emulated API.

Every ``/api`` request is authenticated (``_protocol``), counted against the key's
window, exposed to the configured faults, routed to its operation and answered
with the documented envelopes and error payloads, in compact JSON as Cryptopay writes it.
``/_emulator`` holds the control routes (``_control``).

Routing uses the path as sent (``raw_path``): a merchant's custom id may hold an encoded
``/`` and must stay one path parameter.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, MutableMapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import anyio.abc
import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from cryptopay_async.resources import OPERATIONS
from cryptopay_async.testing._api import JSON, ApiError
from cryptopay_async.testing._api.errors import bad_request, not_found, not_uuid
from cryptopay_async.testing._api.store import Answer
from cryptopay_async.testing._faults import Faults
from cryptopay_async.testing._protocol import Credentials, RateWindow

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Background = Callable[..., Coroutine[Any, Any, None]]

DROPPED_HEADER = "x-emulator-dropped"
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
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def compact_json(value: Any) -> bytes:
    """Answers as Cryptopay writes them: ``{"data":{...}}`` without spaces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def error_body(error: ApiError, request_id: str | None = None) -> bytes:
    body: JSON = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    body["meta"] = {"request_id": request_id or secrets.token_hex(16)}
    return compact_json(body)


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type="application/json; charset=utf-8")


def text(raw: bytes) -> str:
    """A path or query as UTF-8 text; other bytes are the client's mistake (400)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise bad_request("the request target is not UTF-8") from None


async def read_body(request: Request) -> bytes | None:
    """The body, or ``None`` when the client went away while sending it."""
    try:
        return await request.body()
    except ClientDisconnect:
        return None


def json_object(body: bytes) -> JSON:
    """The request body; numbers become ``Decimal`` so an amount sent as 0.1 stays exact."""
    if not body:
        return {}
    try:
        value = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise bad_request("request body is not JSON") from None
    if not isinstance(value, dict):
        raise bad_request("request body must be a JSON object")
    return value


@attrs.define
class Counters:
    requests_seen: int = 0
    rate_limited: int = 0
    answers_dropped: int = 0
    errors_answered: dict[int, int] = attrs.field(factory=dict)

    def answered(self, status: int) -> None:
        self.errors_answered[status] = self.errors_answered.get(status, 0) + 1


@attrs.define
class ApiSide:
    """What the ``/api`` routes need: no more than this."""

    credentials: Credentials
    window: RateWindow
    faults: Callable[[], Faults]
    counters: Counters
    dispatch: Callable[[str, JSON, JSON, JSON], Answer]  # runs one operation, locked


class _ApiEndpoint:
    """One operation's route: the protocol around ``dispatch``."""

    def __init__(self, side: ApiSide, operation: str | None, creates: bool) -> None:
        self.side = side
        self.operation = operation
        self.creates = creates

    async def handle(self, request: Request) -> Response:
        side = self.side
        faults = side.faults()
        request_id = secrets.token_hex(16)
        side.counters.requests_seen += 1
        if faults.latency:
            await anyio.sleep(faults.latency)
        body = await read_body(request)
        if body is None:
            return Response(status_code=400)
        scope = request.scope
        try:
            target = scope["raw_path"].decode("latin-1")
            if scope["query_string"]:
                target += "?" + scope["query_string"].decode("latin-1")
            key = side.credentials.authenticate(request.method, body, request.headers, target)
            if not side.window.admit(key):
                side.counters.rate_limited += 1
                raise ApiError(429, "rate_limit_exceeded", "API rate limit exceeded")
            if faults.maintenance or faults.roll(faults.error_503_rate):
                raise ApiError(503, "service_unavailable", "service unavailable")
            if self.operation is None:
                raise not_found()
            params = {k: unquote(text(v.encode("latin-1"))) for k, v in request.path_params.items()}
            for param, value in params.items():
                if param in UUID_PARAMS and not UUID.match(value):
                    raise not_uuid(param)
            query = dict(parse_qsl(text(scope["query_string"]), keep_blank_values=True))
            cursor = query.get("starting_after")
            if cursor and self.operation != "customers.list" and not UUID.match(cursor):
                raise not_uuid("starting_after")
            data, meta = side.dispatch(self.operation, params, query, json_object(body))
        except ApiError as error:
            side.counters.answered(error.status)
            return json_response(error.status, error_body(error, request_id))
        if faults.roll(faults.error_500_rate):  # processed, but the answer says it failed
            side.counters.answered(500)
            failure = ApiError(500, "internal_error", "internal error")
            return json_response(500, error_body(failure, request_id))
        envelope: JSON = {"data": data}
        if meta is not None:
            envelope["meta"] = meta
        payload = compact_json(envelope)
        if faults.roll(faults.drop_rate):
            # The work is done but the answer is lost: announce more bytes than we send,
            # so the server closes the connection mid-body, as a dropped link would.
            side.counters.answers_dropped += 1
            headers = {"content-length": str(len(payload) + 64), DROPPED_HEADER: "1"}
            return json_response(200, payload, headers)
        if faults.roll(faults.delay_rate):  # processed, but answered late
            await anyio.sleep(faults.delay_seconds)
        return json_response(201 if self.creates else 200, payload)


def _creates(method: str, path: str) -> bool:
    return method == "POST" and not path.endswith(("/commit", "/cancel", "/score"))


def api_routes(side: ApiSide) -> list[BaseRoute]:
    """Every operation (literal segments before parameters: ``/network_fees`` first)."""
    ordered = sorted(OPERATIONS, key=lambda op: len(op.path_params))
    routes: list[BaseRoute] = [
        Route(
            op.path,
            _ApiEndpoint(side, op.name, _creates(op.method, op.path)).handle,
            methods=[op.method],
            name=op.name,
        )
        for op in ordered
    ]
    # Anything else is still authenticated first, then a documented 404.
    routes.append(
        Route("/{rest:path}", _ApiEndpoint(side, None, False).handle, methods=ALL_METHODS)
    )
    return routes


class _RawPathRouting:
    """Route on the path as sent, so ``%2F`` inside an id does not split it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path") is not None:
            scope = dict(scope, path=scope["raw_path"].decode("latin-1").split("?", 1)[0])
        await self.app(scope, receive, send)


def build_app(
    side: ApiSide, control: Iterable[BaseRoute], background: Background
) -> _RawPathRouting:
    """The whole emulator; its lifespan runs ``background`` (webhooks, expiry)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            await tg.start(background)
            yield
            tg.cancel_scope.cancel()

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's own 404 and 405 (control paths only), in the API's error shape."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
        error = ApiError(status, code, code.replace("_", " "))
        return json_response(status, error_body(error))

    routes: list[BaseRoute] = [Mount("/_emulator", routes=list(control)), *api_routes(side)]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    return _RawPathRouting(app)
