from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from cryptopay_async import APIStatusError, CryptopayError
from cryptopay_async.ratelimit import TokenBucket
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
    assert lines[2].endswith("request_id=1bd79df91f60d973bbc4583d4be241d5 cf_ray=-")
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


async def test_debug_lines_carry_cf_ray_and_limiter_wait(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(lambda r: json_response(200, {"data": {}}, {"CF-Ray": "8f1a2b3c4d-AMS"}))
    caplog.set_level(logging.DEBUG, logger="cryptopay_async")
    async with recorded_client(recorder, rate_limiter=TokenBucket(200, 60.0)) as client:
        await client.request("GET", "/api/rates")
    (line,) = [r.getMessage() for r in caplog.records if "attempt=" in r.getMessage()]
    assert re.fullmatch(
        r"GET /api/rates -> 200 attempt=1 elapsed=\d+\.\dms limiter_wait=\d+\.\dms "
        r"request_id=- cf_ray=8f1a2b3c4d-AMS",
        line,
    )


# A job that logs every kind of line: a success, a 404, a 503 that is retried, and the
# limiter at work. Run as its own process so CRYPTOPAY_LOG is read at import, as for users.
SCRIPT = """
import anyio
from cryptopay_async import NotFoundError, RetryPolicy, ServiceUnavailableError
from cryptopay_async.testing import CryptopayEmulator, Faults

async def main():
    emulator = CryptopayEmulator()
    print(emulator.api_secret, emulator.callback_secret, flush=True)
    async with emulator.client(retry_policy=RetryPolicy(initial_backoff=0)) as client:
        await client.rates.retrieve("BTC", "EUR")
        try:
            await client.rates.retrieve("BTC", "XYZ")
        except NotFoundError:
            pass
        emulator.faults = Faults(maintenance=True)
        try:
            await client.coins.list()
        except ServiceUnavailableError:
            pass

anyio.run(main)
"""


def run_logged(level: str | None) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CRYPTOPAY_LOG"}
    if level is not None:
        env["CRYPTOPAY_LOG"] = level
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def assert_no_secret(stdout: str, stderr: str) -> None:
    for secret in stdout.split():
        assert secret not in stderr
    assert "HMAC " not in stderr
    assert "Authorization" not in stderr


@pytest.mark.parametrize("level", ["debug", "DEBUG"])
def test_cryptopay_log_debug_writes_every_attempt_to_stderr(level: str) -> None:
    stdout, stderr = run_logged(level)
    assert_no_secret(stdout, stderr)
    attempt = r"attempt=1 elapsed=\d+\.\dms limiter_wait=\d+\.\dms"
    assert re.search(
        rf"DEBUG cryptopay_async: GET /api/rates/BTC/EUR -> 200 {attempt} request_id=- ", stderr
    )
    assert re.search(
        rf"DEBUG cryptopay_async: GET /api/rates/BTC/XYZ -> 404 {attempt} request_id=[0-9a-f]+ ",
        stderr,
    )
    assert re.search(r"DEBUG cryptopay_async: GET /api/coins -> 503 attempt=3 ", stderr)
    assert "INFO cryptopay_async: retrying GET /api/coins after 503" in stderr


def test_cryptopay_log_info_shows_retries_but_not_every_attempt() -> None:
    stdout, stderr = run_logged("info")
    assert_no_secret(stdout, stderr)
    assert "INFO cryptopay_async: retrying GET /api/coins after 503 in" in stderr
    assert "DEBUG" not in stderr


@pytest.mark.parametrize(("level", "expected"), [(None, ""), ("", ""), ("loud", "ignored")])
def test_without_cryptopay_log_the_sdk_writes_nothing(level: str | None, expected: str) -> None:
    _, stderr = run_logged(level)
    assert "cryptopay_async:" not in stderr.replace("cryptopay_async: CRYPTOPAY_LOG=", "")
    assert expected in stderr
