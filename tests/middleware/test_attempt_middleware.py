"""The two positions for your middleware: once per call (outside retry), once per attempt."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from cryptopay_async import CallNext, CryptopayError, RetryPolicy
from cryptopay_async.middleware import ATTEMPT, LIMITER_WAIT
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator
from tests.scripted_faults import Rule, scripted_client

pytestmark = pytest.mark.anyio


class Seen:
    """Middleware noting, per call of it, the attempt number, the limiter wait and the outcome."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, bool, bool, str]] = []

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        attempt = request.extensions.get(ATTEMPT)
        signed_before = "Authorization" in request.headers
        try:
            response = await call_next(request)
        except (CryptopayError, httpx.HTTPError) as exc:
            outcome = type(exc).__name__
            raise
        else:
            outcome = str(response.status_code)
        finally:
            waited = isinstance(request.extensions.get(LIMITER_WAIT), float)
            self.calls.append((attempt, signed_before, waited, outcome))
        return response


@pytest.mark.parametrize(
    ("outcomes", "per_attempt", "per_call"),
    [
        (["503-before"], [(1, "503"), (2, "200")], ["200"]),
        (
            ["timeout-before", "503-before"],
            [(1, "ConnectTimeout"), (2, "503"), (3, "200")],
            ["200"],
        ),
        (["500-after"] * 3, [(1, "500"), (2, "500"), (3, "500")], ["InternalServerError"]),
    ],
    ids=["503 retried", "connect failure and 503 retried", "500 three times"],
)
async def test_attempt_middleware_runs_once_per_attempt_and_middleware_once_per_call(
    outcomes: list[str], per_attempt: list[tuple[int, str]], per_call: list[str]
) -> None:
    emulator = CryptopayEmulator()
    invoice = emulator.api.call(
        "invoices.create",
        {},
        {},
        {"price_amount": "1", "price_currency": "EUR", "pay_currency": "BTC"},
    )[0]
    outer, inner = Seen(), Seen()
    rules = [Rule("GET", r"/api/invoices/.+", list(outcomes))]
    async with scripted_client(
        emulator,
        rules,
        middleware=[outer],
        attempt_middleware=[inner],
        retry_policy=RetryPolicy(initial_backoff=0),
        rate_limiter=TokenBucket(100, 1),
    ) as (client, _):
        with contextlib.suppress(CryptopayError):  # the outcome is what the middleware saw
            await client.invoices.retrieve(invoice["id"])
    # Inside the retry step: each attempt, numbered, before signing, after the limiter.
    assert [(n, outcome) for n, _, _, outcome in inner.calls] == per_attempt
    assert all(waited for _, _, waited, _ in inner.calls)
    assert inner.calls[0][1] is False  # signing comes after it
    # Outside it: the call once, with the final answer or the SDK's exception.
    assert [outcome for *_, outcome in outer.calls] == per_call
