from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from cryptopay_async import APIStatusError, CryptopayError
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


FORGED = "X\nINFO forged"
FORGED_SENT = "/api/invoices/custom_id/X%0AINFO%20forged"


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(404, content=fixture_bytes("errors/404-not_found.json")),
        lambda r: json_response(
            500, {"error": {"message": "boom\nINFO x"}, "meta": {"request_id": "a\nb"}}
        ),
        lambda r: json_response(200, {"data": {"id": "\nINFO forged"}}),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused\nINFO forged", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow\nINFO forged", request=r)),
    ],
    ids=["404", "500-forged-message", "undecodable-2xx", "connect-error", "timeout"],
)
async def test_hostile_ids_and_answers_give_one_line_logs_and_messages(
    caplog: pytest.LogCaptureFixture, answer: Callable[[httpx.Request], httpx.Response]
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(answer)
    async with recorded_client(recorder, max_retries=1) as client:
        with pytest.raises(CryptopayError) as caught:
            await client.invoices.retrieve_by_custom_id(FORGED)
    lines = [r.getMessage() for r in caplog.records]
    assert any(FORGED_SENT in line for line in lines)
    assert FORGED_SENT in str(caught.value) or isinstance(caught.value, APIStatusError)
    for text in [*lines, str(caught.value)]:
        assert "\n" not in text
        assert "\r" not in text
