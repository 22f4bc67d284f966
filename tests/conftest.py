from __future__ import annotations

import pytest

from cryptopay_async import _decoding

pytest_plugins = ["cryptopay_async.testing.pytest_plugin"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs once under asyncio and once under trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide credentials explicitly; a developer's shell must not leak in."""
    for name in (
        "CRYPTOPAY_API_KEY",
        "CRYPTOPAY_API_SECRET",
        "CRYPTOPAY_CALLBACK_SECRET",
        "CRYPTOPAY_ENVIRONMENT",
        "CRYPTOPAY_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["msgspec", "cattrs"])
def engine(request: pytest.FixtureRequest) -> _decoding.Engine:
    """Each decoding engine by name: a missing one fails here (CI installs speedups)."""
    return _decoding.ENGINES[request.param]


@pytest.fixture
def engine_in_use(engine: _decoding.Engine, monkeypatch: pytest.MonkeyPatch) -> _decoding.Engine:
    """Responses and callbacks are decoded by ``engine`` for the length of one test."""
    monkeypatch.setattr(_decoding, "engine", engine)
    return engine
