from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer

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
