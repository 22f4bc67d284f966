"""Control routes under ``/_emulator``: drive a served emulator from any process.

They answer only to loopback clients, unless the emulator was started with a control
token; then every caller must send it (``Authorization: Bearer <token>`` or
``X-Emulator-Token: <token>``), loopback included. JSON in, ``{"data": ...}`` out;
errors use the API's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cryptopay_async.testing._api import JSON, ApiError, LedgerEntry
from cryptopay_async.testing._api.fields import decimal_of, money, timestamp
from cryptopay_async.testing._app import (
    compact_json,
    error_body,
    json_object,
    json_response,
    read_body,
    text,
)
from cryptopay_async.testing._faults import RATES, SECONDS, Faults

TOKEN_HEADER = "x-emulator-token"


class Controls(Protocol):
    """The test-side handles a control route may pull (``CryptopayEmulator`` has them)."""

    faults: Faults

    def pay_invoice(
        self, invoice_id: str, amount: Decimal | str | None = None, *, late: bool = False
    ) -> JSON: ...

    def pay_channel(
        self, channel_id: str, amount: Decimal | str, currency: str | None = None
    ) -> JSON: ...

    def complete_withdrawal(self, coin_withdrawal_id: str) -> JSON: ...

    def fail_withdrawal(self, coin_withdrawal_id: str) -> JSON: ...

    def advance_clock(self, seconds: float) -> datetime: ...

    @property
    def ledger(self) -> list[LedgerEntry]: ...

    def webhook_report(self) -> list[JSON]: ...

    def reset(self) -> None: ...


def ledger_json(entry: LedgerEntry) -> JSON:
    return {
        "action": entry.action,
        "reference_type": entry.reference_type,
        "reference_id": entry.reference_id,
        "amount": money(entry.amount),
        "currency": entry.currency,
        "custom_id": entry.custom_id,
        "at": timestamp(entry.at),
    }


def invalid_input(field: str, message: str) -> ApiError:
    detail = {"code": "invalid", "target": field, "message": message, "args": {}}
    return ApiError(422, "invalid", "invalid", [detail])


def _amount(body: JSON, *, required: bool) -> Decimal | None:
    raw = body.get("amount")
    if raw is None and not required:
        return None
    value = decimal_of(raw)
    if value is None or value <= 0 or value >= Decimal("1e15"):
        raise invalid_input("amount", "must be a positive decimal (a string or a number)")
    return value


def faults_from(body: JSON) -> Faults:
    """``PUT /_emulator/faults``: the ``Faults`` fields; missing ones are off."""
    known = {*RATES, *SECONDS, "maintenance", "seed"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise invalid_input(unknown[0], f"is not a fault; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if name == "maintenance":
            if not isinstance(raw, bool):
                raise invalid_input(name, "must be true or false")
            values[name] = raw
        elif name == "seed":
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
                raise invalid_input(name, "must be an integer or null")
            values[name] = raw
        else:
            number = decimal_of(raw) if not isinstance(raw, str) else None
            if number is None:
                raise invalid_input(name, "must be a number")
            values[name] = float(number)
    try:
        return Faults(**values)
    except ValueError as exc:
        raise invalid_input(next(iter(values), "faults"), str(exc)) from None


Handler = Callable[[Controls, str, JSON], Any]


class ControlAccess:
    """Loopback only, or whoever shows the token."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def check(self, request: Request) -> None:
        if self.token is not None:
            bearer = request.headers.get("authorization", "")
            shown = request.headers.get(TOKEN_HEADER) or bearer.removeprefix("Bearer ")
            if not hmac.compare_digest(shown.encode("latin-1"), self.token.encode()):
                raise ApiError(401, "unauthenticated", "a control token is required")
            return
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ApiError(403, "forbidden", "control routes answer to loopback clients only")


def control_routes(controls: Controls, access: ControlAccess) -> list[BaseRoute]:
    """The fixed routes a test suite may rely on."""

    def route(path: str, method: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                access.check(request)
                raw = await read_body(request)
                if raw is None:
                    return Response(status_code=400)
                body = json_object(raw)
                raw_id = request.path_params.get("id", "")
                object_id = unquote(text(raw_id.encode("latin-1")))
                result = handler(controls, object_id, body)
            except ApiError as error:
                return json_response(error.status, error_body(error))
            except ValueError as exc:
                conflict = ApiError(409, "invalid_state", str(exc))
                return json_response(409, error_body(conflict))
            return json_response(200, compact_json({"data": result}))

        return Route(path, endpoint, methods=[method])

    return [
        route("/invoices/{id}/pay", "POST", _pay_invoice),
        route("/channels/{id}/pay", "POST", _pay_channel),
        route("/coin_withdrawals/{id}/complete", "POST", _complete),
        route("/coin_withdrawals/{id}/fail", "POST", _fail),
        route("/clock/advance", "POST", _advance),
        route("/faults", "PUT", _put_faults),
        route("/faults", "GET", _get_faults),
        route("/ledger", "GET", _ledger),
        route("/webhooks", "GET", _webhooks),
        route("/reset", "POST", _reset),
    ]


def _pay_invoice(controls: Controls, object_id: str, body: JSON) -> JSON:
    late = body.get("late", False)
    if not isinstance(late, bool):
        raise invalid_input("late", "must be true or false")
    return controls.pay_invoice(object_id, _amount(body, required=False), late=late)


def _pay_channel(controls: Controls, object_id: str, body: JSON) -> JSON:
    currency = body.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise invalid_input("currency", "must be a string")
    amount = _amount(body, required=True)
    assert amount is not None
    return controls.pay_channel(object_id, amount, currency)


def _complete(controls: Controls, object_id: str, body: JSON) -> JSON:
    return controls.complete_withdrawal(object_id)


def _fail(controls: Controls, object_id: str, body: JSON) -> JSON:
    return controls.fail_withdrawal(object_id)


def _advance(controls: Controls, object_id: str, body: JSON) -> JSON:
    raw = body.get("seconds")
    seconds = None if isinstance(raw, str) else decimal_of(raw)
    if seconds is None or not 0 <= seconds < 10**9:
        raise invalid_input("seconds", "must be a number of seconds from 0 to 1e9")
    now = controls.advance_clock(float(seconds))
    return {"now": timestamp(now)}


def _put_faults(controls: Controls, object_id: str, body: JSON) -> JSON:
    controls.faults = faults_from(body)
    return controls.faults.to_json()


def _get_faults(controls: Controls, object_id: str, body: JSON) -> JSON:
    return controls.faults.to_json()


def _ledger(controls: Controls, object_id: str, body: JSON) -> list[JSON]:
    return [ledger_json(entry) for entry in controls.ledger]


def _webhooks(controls: Controls, object_id: str, body: JSON) -> list[JSON]:
    return controls.webhook_report()


def _reset(controls: Controls, object_id: str, body: JSON) -> JSON:
    controls.reset()
    return {"reset": True}
