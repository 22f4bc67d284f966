"""``python -m cryptopay_async.testing serve`` and the pytest plugin, as users meet them."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cryptopay_async import AsyncCryptopay, RetryPolicy
from cryptopay_async.testing import CryptopayEmulator
from cryptopay_async.testing._server import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "cryptopay_async.testing",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        "cli-key",
        "--callback-secret",
        "cli-callback",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            words = shlex.split(process.stdout.readline())
            assert words[0] == "export"
            yield dict(pair.split("=", 1) for pair in words[1:])
        finally:
            process.terminate()
            process.wait(timeout=10)


async def test_serve_prints_the_settings_line_and_answers_signed_requests(
    served: dict[str, str],
) -> None:
    assert set(served) == {
        "CRYPTOPAY_BASE_URL",
        "CRYPTOPAY_API_KEY",
        "CRYPTOPAY_API_SECRET",
        "CRYPTOPAY_CALLBACK_SECRET",
    }
    assert served["CRYPTOPAY_API_KEY"] == "cli-key"
    assert served["CRYPTOPAY_CALLBACK_SECRET"] == "cli-callback"
    assert served["CRYPTOPAY_BASE_URL"].startswith("http://127.0.0.1:")
    client = AsyncCryptopay(
        api_key=served["CRYPTOPAY_API_KEY"],
        api_secret=served["CRYPTOPAY_API_SECRET"],
        base_url=served["CRYPTOPAY_BASE_URL"],
        rate_limiter=None,
        retry_policy=RetryPolicy(max_retries=20, initial_backoff=0.1, max_backoff=0.2),
    )
    async with client:
        rate = await client.rates.retrieve("BTC", "EUR")  # retried until the server listens
        invoice = await client.invoices.create(
            price_amount="1", price_currency="EUR", pay_currency="BTC"
        )
        assert (await client.invoices.retrieve(invoice.id)).id == invoice.id
    assert rate.buy_rate > 0


async def test_the_plugin_fixtures(
    cryptopay_emulator: CryptopayEmulator, cryptopay_server: tuple[CryptopayEmulator, str]
) -> None:
    emulator, url = cryptopay_server
    assert emulator is cryptopay_emulator
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        assert await client.coins.list()
