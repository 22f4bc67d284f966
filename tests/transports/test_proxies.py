"""Proxies and custom CAs: the environment honoured like httpx, ``proxy=`` and ``verify=``,
through a real forwarding proxy on 127.0.0.1, for both transports."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptopay_async import APIConnectionError, AsyncCryptopay
from cryptopay_async._transports import _pool
from cryptopay_async._transports._proxies import choose_proxy
from cryptopay_async.testing import CryptopayEmulator
from cryptopay_async.testing._server import serve_in_thread
from tests.forward_proxy import ProxyLog, forward_proxy
from tests.support import count_new_ssl_contexts

pytestmark = pytest.mark.anyio


CASES: list[tuple[str, dict[str, str], str | None, bool, str | None]] = [
    # base URL, environment, proxy=, trust_env, expected proxy
    ("https://business.cryptopay.me", {}, None, True, None),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:3128"},
        None,
        True,
        "http://p:3128",
    ),
    ("https://business.cryptopay.me", {"https_proxy": "http://p:1"}, None, True, "http://p:1"),
    ("https://business.cryptopay.me", {"HTTP_PROXY": "http://p:3128"}, None, True, None),
    ("http://127.0.0.1:8080", {"HTTP_PROXY": "http://p:3128"}, None, True, "http://p:3128"),
    ("https://business.cryptopay.me", {"ALL_PROXY": "http://all:1"}, None, True, "http://all:1"),
    (
        "https://business.cryptopay.me",
        {"ALL_PROXY": "http://all:1", "HTTPS_PROXY": "http://s:2"},
        None,
        True,
        "http://s:2",
    ),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "cryptopay.me"},
        None,
        True,
        None,
    ),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".cryptopay.me"},
        None,
        True,
        None,
    ),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"},
        None,
        True,
        None,
    ),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com,localhost"},
        None,
        True,
        "http://p:1",
    ),
    (
        "http://127.0.0.1:8080",
        {"HTTP_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1"},
        None,
        True,
        None,
    ),
    ("https://business.cryptopay.me", {"HTTPS_PROXY": "http://p:1"}, None, False, None),
    (
        "https://business.cryptopay.me",
        {"HTTPS_PROXY": "http://p:1"},
        "http://mine:9",
        True,
        "http://mine:9",
    ),
    ("https://business.cryptopay.me", {}, "http://mine:9", False, "http://mine:9"),
]


@pytest.mark.parametrize(("base_url", "env", "proxy", "trust_env", "expected"), CASES)
def test_the_proxy_is_chosen_like_httpx_does(
    monkeypatch: pytest.MonkeyPatch,
    base_url: str,
    env: dict[str, str],
    proxy: str | None,
    trust_env: bool,
    expected: str | None,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    chosen = choose_proxy(base_url, proxy, trust_env=trust_env, transport="httpx")
    assert (None if chosen is None else str(chosen).rstrip("/")) == expected


@pytest.mark.parametrize(
    ("proxy", "transport", "fragment"),
    [
        ("ftp://user:hunter2@p:2121", "httpx", "ftp://user:***@p:2121"),
        ("socks5://user:hunter2@p:1080", "aiohttp", "socks5://user:***@p:1080"),
        ("p:3128", "httpx", "give an absolute URL"),
    ],
)
def test_an_unusable_proxy_is_refused_without_showing_its_password(
    proxy: str, transport: str, fragment: str
) -> None:
    with pytest.raises(ValueError) as caught:
        choose_proxy("https://business.cryptopay.me", proxy, trust_env=True, transport=transport)
    assert fragment in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_proxy_from_the_environment_keeps_construction_free_of_new_ssl_contexts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = count_new_ssl_contexts(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    for _ in range(3):
        AsyncCryptopay(api_key="k", api_secret="s")
    assert built == []


def test_verification_cannot_be_turned_off() -> None:
    with pytest.raises(ValueError, match="verify=False is not supported"):
        AsyncCryptopay(api_key="k", api_secret="s", verify=False)
    with pytest.raises(ValueError, match="no such CA bundle"):
        AsyncCryptopay(api_key="k", api_secret="s", verify="/nonexistent/ca.pem")


# ---- through a real proxy ------------------------------------------------------------


# Both transports; aiohttp runs on asyncio only.
BOTH_TRANSPORTS = pytest.mark.parametrize(
    ("anyio_backend", "transport"),
    [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")],
)


@pytest.fixture
def proxy() -> Iterator[ProxyLog]:
    with forward_proxy() as log:
        yield log


@pytest.fixture(scope="module")
def http_emulator() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    import trustme

    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    leaf.cert_chain_pems[0].write_to_path(str(paths[1]))
    leaf.private_key_pem.write_to_path(str(paths[2]))
    return paths


@pytest.fixture(scope="module")
def https_emulator(tls: tuple[Path, Path, Path]) -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    _, cert, key = tls
    with serve_in_thread(emulator.asgi_app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        yield emulator, url


def client_for(served: tuple[CryptopayEmulator, str], **options: Any) -> AsyncCryptopay:
    emulator, url = served
    return AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        base_url=url,
        rate_limiter=None,
        max_retries=0,
        **options,
    )


async def rates_through(client: AsyncCryptopay) -> None:
    async with client:
        rate = await client.rates.retrieve("BTC", "EUR")
        assert rate.buy_rate > 0
        await client.invoices.list()  # a second request: the pool's connection is reused


@BOTH_TRANSPORTS
async def test_http_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    http_emulator: tuple[CryptopayEmulator, str],
    proxy: ProxyLog,
    transport: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    await rates_through(client_for(http_emulator, transport=transport))
    url = http_emulator[1]
    assert proxy.requests == [f"GET {url}/api/rates/BTC/EUR", f"GET {url}/api/invoices"]


@BOTH_TRANSPORTS
@pytest.mark.parametrize("variable", ["ALL_PROXY", "all_proxy"])
async def test_all_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    http_emulator: tuple[CryptopayEmulator, str],
    proxy: ProxyLog,
    transport: str,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    await rates_through(client_for(http_emulator, transport=transport))
    assert len(proxy.requests) == 2


@BOTH_TRANSPORTS
async def test_no_proxy_and_trust_env_false_go_direct(
    monkeypatch: pytest.MonkeyPatch,
    http_emulator: tuple[CryptopayEmulator, str],
    proxy: ProxyLog,
    transport: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    await rates_through(client_for(http_emulator, transport=transport, trust_env=False))
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    await rates_through(client_for(http_emulator, transport=transport))
    assert proxy.requests == []


@pytest.mark.parametrize(
    ("anyio_backend", "transport", "scheme"),
    [
        ("asyncio", "httpx", "http"),
        ("trio", "httpx", "http"),
        ("asyncio", "httpx", "https"),
        ("trio", "httpx", "https"),
        ("asyncio", "aiohttp", "http"),
        ("asyncio", "aiohttp", "https"),
    ],
)
async def test_proxy_argument_with_credentials(
    monkeypatch: pytest.MonkeyPatch,
    http_emulator: tuple[CryptopayEmulator, str],
    https_emulator: tuple[CryptopayEmulator, str],
    tls: tuple[Path, Path, Path],
    proxy: ProxyLog,
    transport: str,
    scheme: str,
) -> None:
    with_credentials = proxy.url.replace("http://", "http://user:s3cret@")
    served = https_emulator if scheme == "https" else http_emulator
    client = client_for(served, transport=transport, proxy=with_credentials, verify=str(tls[0]))
    assert "s3cret" not in repr(client)
    await rates_through(client)
    assert proxy.requests
    assert set(proxy.proxy_authorization) == {"Basic dXNlcjpzM2NyZXQ="}  # user:s3cret


@BOTH_TRANSPORTS
async def test_https_through_a_connect_tunnel_with_a_custom_ca(
    monkeypatch: pytest.MonkeyPatch,
    https_emulator: tuple[CryptopayEmulator, str],
    tls: tuple[Path, Path, Path],
    proxy: ProxyLog,
    transport: str,
) -> None:
    ca, _, _ = tls
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    await rates_through(client_for(https_emulator, transport=transport, verify=str(ca)))
    host = https_emulator[1].removeprefix("https://")
    assert proxy.requests[0] == f"CONNECT {host}"
    assert all(line == f"CONNECT {host}" for line in proxy.requests)


@BOTH_TRANSPORTS
async def test_https_without_the_ca_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    https_emulator: tuple[CryptopayEmulator, str],
    transport: str,
) -> None:
    with pytest.raises(APIConnectionError) as caught:
        await rates_through(client_for(https_emulator, transport=transport))
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


@BOTH_TRANSPORTS
async def test_verify_takes_an_ssl_context(
    https_emulator: tuple[CryptopayEmulator, str], tls: tuple[Path, Path, Path], transport: str
) -> None:
    context = ssl.create_default_context(cafile=str(tls[0]))
    await rates_through(client_for(https_emulator, transport=transport, verify=context))


def test_ssl_cert_file_is_honoured(
    https_emulator: tuple[CryptopayEmulator, str], tls: tuple[Path, Path, Path]
) -> None:
    emulator, url = https_emulator
    script = (
        "import anyio\n"
        "from cryptopay_async import AsyncCryptopay\n"
        "async def main():\n"
        "    async with AsyncCryptopay(rate_limiter=None) as client:\n"
        "        print((await client.rates.retrieve('BTC', 'EUR')).buy_rate)\n"
        "anyio.run(main)\n"
    )
    env = os.environ | {
        "SSL_CERT_FILE": str(tls[0]),
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_BASE_URL": url,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout) > 0


def test_a_caller_owned_http_client_keeps_its_own_proxy_settings() -> None:
    with pytest.raises(ValueError, match=r"set proxy and verify on that httpx\.AsyncClient"):
        AsyncCryptopay(
            api_key="k", api_secret="s", http_client=httpx.AsyncClient(), proxy="http://p:1"
        )
    assert _pool.shared_ssl_context() is _pool.tls_context(True, trust_env=True)
