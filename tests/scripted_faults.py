"""A transport in front of the in-process emulator that fails chosen attempts on purpose.

Each rule names a method and a path pattern and a list of outcomes, used up in order
by the matching attempts; once used up, attempts go through untouched:

- ``"ok"``: through untouched;
- ``"timeout-after"`` / ``"drop-after"`` / ``"500-after"``: the emulator processes the
  request, then the answer is lost (read timeout, connection dropped, 500 instead);
- ``"502-before"`` / ``"timeout-before"``: the request is lost on the way: never processed;
- ``"503-before"`` / ``"429-before"``: refused before processing (maintenance, rate limit);
- ``"404-before"``: a read-back answered "not found" without asking the emulator (the
  object is not visible yet); ``"403-before"``: refused without asking it;
- ``"422-expired-before"``: a commit answered "expired" without asking the emulator (a
  server that checks the 30-second window before whether it was committed).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx

from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing import CryptopayEmulator
from cryptopay_async.testing._emulator import IN_PROCESS_URL, _InProcessTransport


@attrs.define
class Rule:
    method: str
    path: str  # a regular expression matched against the whole path
    outcomes: list[str]


def _error(request: httpx.Request, status: int, code: str) -> httpx.Response:
    body = {"error": {"code": code, "message": code.replace("_", " ")}, "meta": {}}
    return httpx.Response(status, content=json.dumps(body).encode(), request=request)


class ScriptedFaults(httpx.AsyncBaseTransport):
    def __init__(self, emulator: CryptopayEmulator, rules: list[Rule]) -> None:
        self.inner = _InProcessTransport(app=emulator.asgi_app)
        self.rules = rules
        self.seen: list[tuple[str, str, str]] = []  # (method, path, outcome) per attempt

    def _outcome(self, request: httpx.Request) -> str:
        for rule in self.rules:
            if rule.method == request.method and re.fullmatch(rule.path, request.url.path):
                return rule.outcomes.pop(0) if rule.outcomes else "ok"
        return "ok"

    def attempts(self, method: str, path: str) -> list[str]:
        return [o for m, p, o in self.seen if m == method and re.fullmatch(path, p)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        outcome = self._outcome(request)
        self.seen.append((request.method, request.url.path, outcome))
        if outcome == "502-before":
            return _error(request, 502, "bad_gateway")
        if outcome == "503-before":
            return _error(request, 503, "service_unavailable")
        if outcome == "429-before":
            return _error(request, 429, "rate_limit_exceeded")
        if outcome == "404-before":
            return _error(request, 404, "not_found")
        if outcome == "403-before":
            return _error(request, 403, "forbidden")
        if outcome == "422-expired-before":
            return _error(request, 422, "expired")
        if outcome == "timeout-before":
            # How a transport proves nothing was sent: httpcore's event for a failed connect.
            await request.extensions["trace"]("connection.connect_tcp.failed", {})
            raise httpx.ConnectTimeout("scripted", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if outcome == "timeout-after":
            raise httpx.ReadTimeout("scripted: answer too late", request=request)
        if outcome == "drop-after":
            raise httpx.RemoteProtocolError("scripted: connection dropped", request=request)
        if outcome == "500-after":
            return _error(request, 500, "internal_error")
        return response


@asynccontextmanager
async def scripted_client(
    emulator: CryptopayEmulator, rules: list[Rule], **options: Any
) -> AsyncIterator[tuple[AsyncCryptopay, ScriptedFaults]]:
    """A client on the in-process emulator whose attempts fail as ``rules`` say."""
    transport = ScriptedFaults(emulator, rules)
    settings: dict[str, Any] = {
        "api_key": emulator.api_key,
        "api_secret": emulator.api_secret,
        "base_url": IN_PROCESS_URL,
        "rate_limiter": None,
        **options,
    }
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncCryptopay(http_client=http, **settings) as client,
    ):
        yield client, transport
