"""A client used and never closed (a common first-hour mistake) leaves no noise behind.

aiohttp reports an unclosed session through the event loop (``Unclosed client
session``, ``Unclosed connector``) where httpx's pool says nothing; the SDK closes the
connections of a transport that was garbage collected unclosed. Each case runs in its
own interpreter, against the served emulator, and reads what it printed on stderr.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import asyncio, sys
from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

async def forget_to_close(url, emulator):
    client = AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url,
        transport=sys.argv[1],
    )
    await client.rates.retrieve("BTC", "EUR")  # a pooled connection stays open
    print("answered")

emulator = CryptopayEmulator()
with serve_in_thread(emulator.asgi_app) as url:
    asyncio.run(forget_to_close(url, emulator))
"""
AIOHTTP_NOISE = ("Unclosed client session", "Unclosed connector", "Unclosed connection")


def run(transport: str, *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *options, "-c", SCRIPT, transport],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "answered\n", done.stderr
    return done


@pytest.mark.parametrize("transport", ["auto", "aiohttp", "httpx"])
def test_an_unclosed_client_prints_nothing(transport: str) -> None:
    assert run(transport).stderr == ""


@pytest.mark.parametrize("transport", ["auto", "aiohttp"])
def test_with_warnings_as_errors_aiohttp_reports_no_unclosed_session(transport: str) -> None:
    # Python itself still reports a socket left open at exit under -W error, as for httpx.
    stderr = run(transport, "-W", "error").stderr
    assert not [noise for noise in AIOHTTP_NOISE if noise in stderr], stderr
