from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptopay_async._decoding import _engines as _decoding
from tests.redis_server import RedisServer

pytest_plugins = ["cryptopay_async.testing.pytest_plugin"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs once under asyncio and once under trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide credentials and proxies explicitly; a developer's shell must not leak in."""
    for name in (
        "CRYPTOPAY_API_KEY",
        "CRYPTOPAY_API_SECRET",
        "CRYPTOPAY_CALLBACK_SECRET",
        "CRYPTOPAY_ENVIRONMENT",
        "CRYPTOPAY_BASE_URL",
        "CRYPTOPAY_LOG",
        "CRYPTOPAY_APP_INFO",
        # The client honours proxies from the environment; the suite's loopback servers
        # must be reached directly whatever the machine's settings (tests/transports/test_proxies.py
        # sets them itself).
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the tests' own (see tests/redis_server.py), for the whole session."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
