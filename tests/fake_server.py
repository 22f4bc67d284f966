"""A tiny Cryptopay stand-in for end-to-end tests: verifies signatures, serves fixtures."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from tests.support import API_KEY, API_SECRET, expected_signature, fixture_bytes

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

UNAUTHENTICATED = fixture_bytes("errors/401-unauthenticated.json")
NOT_FOUND = fixture_bytes("errors/404-not_found.json")
INVOICE = json.loads(fixture_bytes("responses-2023/invoices/retrieve.json"))
CREATED = fixture_bytes("responses-2023/invoices/create.json")
PAGE = fixture_bytes("responses-2023/invoices/list.json")


class FakeCryptopay:
    """ASGI app; ``requests`` lists (method, raw target, signature valid) for every call."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: list[tuple[str, str, bool]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        """The headers (lower-cased names) and body of every request, in order."""
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        target = scope["raw_path"].decode()
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode()
        method = scope["method"]
        want = expected_signature(API_SECRET, method, body, headers.get("date", ""), target)
        valid = (
            headers.get("authorization") == f"HMAC {API_KEY}:{want}"
            and headers.get("content-type") == "application/json"
        )
        self.requests.append((method, target, valid))
        self.received.append((headers, body))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency:
                await anyio.sleep(self.latency)
            status, payload = (
                self.route(method, scope["path"], body) if valid else (401, UNAUTHENTICATED)
            )
        finally:
            self.in_flight -= 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def route(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "POST" and path == "/api/invoices":
            return 201, CREATED
        if method == "GET" and path == "/api/invoices":
            return 200, PAGE
        if method == "GET" and path.startswith("/api/invoices/"):
            invoice_id = path.rsplit("/", 1)[1]
            if invoice_id == "missing":
                return 404, NOT_FOUND
            return 200, json.dumps({"data": {**INVOICE["data"], "id": invoice_id}}).encode()
        return 404, NOT_FOUND
