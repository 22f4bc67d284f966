"""pytest fixtures: add ``pytest_plugins = ["cryptopay_async.testing.pytest_plugin"]``.

``cryptopay_emulator`` is a fresh emulator per test; ``cryptopay_server`` serves one on
127.0.0.1 (uvicorn, extra ``testing``) and yields ``(emulator, base_url)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptopay_async.testing._emulator import CryptopayEmulator
from cryptopay_async.testing._server import serve_in_thread


@pytest.fixture
def cryptopay_emulator() -> CryptopayEmulator:
    return CryptopayEmulator()


@pytest.fixture
def cryptopay_server(
    cryptopay_emulator: CryptopayEmulator,
) -> Iterator[tuple[CryptopayEmulator, str]]:
    with serve_in_thread(cryptopay_emulator.asgi_app) as url:
        yield cryptopay_emulator, url
