from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_server import FakeCryptopay
from tests.support import API_KEY, API_SECRET, CALLBACK_SECRET, serve_asgi


@pytest.fixture(scope="module")
def fake_api() -> Iterator[str]:
    """A Cryptopay stand-in on 127.0.0.1 that the example apps' clients talk to."""
    with serve_asgi(FakeCryptopay()) as url:
        yield url


@pytest.fixture
def cryptopay_env(monkeypatch: pytest.MonkeyPatch, fake_api: str) -> None:
    """The environment the example apps read their credentials from."""
    monkeypatch.setenv("CRYPTOPAY_API_KEY", API_KEY)
    monkeypatch.setenv("CRYPTOPAY_API_SECRET", API_SECRET)
    monkeypatch.setenv("CRYPTOPAY_CALLBACK_SECRET", CALLBACK_SECRET)
    monkeypatch.setenv("CRYPTOPAY_BASE_URL", fake_api)
