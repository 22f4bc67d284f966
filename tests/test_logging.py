from __future__ import annotations

import logging

import httpx
import pytest

from cryptopay_async import CryptopayError
from tests.support import (
    API_SECRET,
    CALLBACK_SECRET,
    Recorder,
    fixture_bytes,
    json_response,
    recorded_client,
)

pytestmark = pytest.mark.anyio


async def test_one_debug_line_per_attempt_and_no_secret_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = iter(
        [
            httpx.Response(503, content=b"maintenance"),
            json_response(200, {"data": {}}),
            httpx.Response(404, content=fixture_bytes("errors/404-not_found.json")),
            httpx.Response(401, content=fixture_bytes("errors/401-unauthenticated.json")),
        ]
    )
    recorder = Recorder(lambda r: next(answers))
    caplog.set_level(logging.DEBUG)
    failures: list[CryptopayError] = []
    async with recorded_client(recorder, callback_secret=CALLBACK_SECRET) as client:
        await client.request("GET", "/api/rates")
        for path in ("/api/invoices/missing", "/api/accounts"):
            try:
                await client.request("GET", path)
            except CryptopayError as exc:
                failures.append(exc)
        everything = [repr(client), *map(str, failures), *map(repr, failures)]
    attempts = [
        r for r in caplog.records if r.name == "cryptopay_async" and "attempt=" in r.getMessage()
    ]
    lines = [r.getMessage() for r in attempts]
    assert len(lines) == 4
    assert lines[0].startswith("GET /api/rates -> 503 attempt=1 elapsed=")
    assert lines[1].startswith("GET /api/rates -> 200 attempt=2 elapsed=")
    assert lines[2].endswith("request_id=1bd79df91f60d973bbc4583d4be241d5")
    assert all(r.levelno == logging.DEBUG for r in attempts)
    everything += [r.getMessage() for r in caplog.records] + [caplog.text]
    signatures = [r.headers["authorization"].split(":", 1)[1] for r in recorder.requests]
    for text in everything:
        assert API_SECRET not in text
        assert CALLBACK_SECRET not in text
        assert not any(sig in text for sig in signatures)
        assert "HMAC " not in text
