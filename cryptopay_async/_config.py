"""Where settings come from (arguments, then environment variables) and shared resources."""

from __future__ import annotations

import functools
import os
import ssl

import httpx

from cryptopay_async._httpx_pool import HttpxPool
from cryptopay_async.ratelimit import RateLimiter

ENVIRONMENTS: dict[str, str] = {
    "sandbox": "https://business-sandbox.cryptopay.me",
    "production": "https://business.cryptopay.me",
}

ENV_API_KEY = "CRYPTOPAY_API_KEY"
ENV_API_SECRET = "CRYPTOPAY_API_SECRET"
ENV_CALLBACK_SECRET = "CRYPTOPAY_CALLBACK_SECRET"
ENV_ENVIRONMENT = "CRYPTOPAY_ENVIRONMENT"
ENV_BASE_URL = "CRYPTOPAY_BASE_URL"
ENV_REDIS_URL = "CRYPTOPAY_REDIS_URL"
ENV_APP_INFO = "CRYPTOPAY_APP_INFO"
MAX_APP_INFO = 200

DEFAULT_TIMEOUT = 30.0
# httpcore scans every pooled connection on each request, so a small pool with a
# queue in front of it beats a large pool under load (benchmarks/ and the
# performance notes: 500 concurrent calls collapse with the default pool).
DEFAULT_MAX_CONCURRENCY = 16


def credential(value: str | None, argument: str, env_var: str, *, required: bool) -> str | None:
    """The argument, else the environment variable; ``ValueError`` when required and absent."""
    if value is None:
        value = os.environ.get(env_var)
    if value is None or value == "":
        if required:
            raise ValueError(
                f"{argument} is missing: pass {argument}=... to AsyncCryptopay "
                f"or set the {env_var} environment variable"
            )
        return None
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, got {type(value).__name__}")
    if value != value.strip() or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{argument} contains whitespace or control characters")
    # Keys and secrets are ASCII tokens; anything else could not be put in a header or
    # HMAC'd the way the server does, and would fail untyped at the first request.
    if not value.isascii():
        raise ValueError(f"{argument} contains characters outside printable ASCII")
    return value


def app_info(value: str | None) -> str | None:
    """``app_info`` (argument, else ``CRYPTOPAY_APP_INFO``): appended to the User-Agent.

    Printable ASCII of at most 200 characters: a control character could end the header
    and start another (header injection), and a long one bloats every request.
    """
    if value is None:
        value = os.environ.get(ENV_APP_INFO) or None
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"app_info must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("app_info is empty: name your application, e.g. 'my-shop/1.4'")
    if len(value) > MAX_APP_INFO:
        raise ValueError(f"app_info is {len(value)} characters long, at most {MAX_APP_INFO}")
    if any(ord(ch) < 0x20 or ord(ch) >= 0x7F for ch in value):
        raise ValueError(
            "app_info must be printable ASCII (no control characters: it goes in the "
            f"User-Agent header), got {value[:40]!r}"
        )
    return value.strip()


def resolve_base_url(environment: str | None, base_url: str | None) -> str:
    """``base_url`` (argument or env) wins over ``environment``; returns it without a trailing /."""
    env_name = environment if environment is not None else os.environ.get(ENV_ENVIRONMENT)
    env_name = env_name or "sandbox"
    if env_name not in ENVIRONMENTS:
        valid = ", ".join(repr(name) for name in ENVIRONMENTS)
        raise ValueError(f"unknown environment {env_name!r}: valid values are {valid}")
    url = base_url if base_url is not None else os.environ.get(ENV_BASE_URL)
    if not url:
        return ENVIRONMENTS[env_name]
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a str, got {type(url).__name__}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url {url!r} is not a valid URL: {exc}") from None
    if parsed.userinfo:
        # httpx would send them as Basic auth in place of the signed Authorization header;
        # and a secret must not reach messages or repr(): the URL is not echoed.
        raise ValueError("base_url must not carry a user name or password")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"base_url must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


def default_limiter(api_key: str, redis_url: str | None) -> RateLimiter:
    """The limiter of a client built without ``rate_limiter=``.

    With ``redis_url`` (or ``CRYPTOPAY_REDIS_URL``) a ``RedisTokenBucket`` named from
    the key's fingerprint, so every process and machine of a fleet shares the key's
    limit; otherwise the in-process limiter shared by the clients of this process.
    """
    from cryptopay_async.ratelimit import (
        DEFAULT_MARGIN,
        RedisTokenBucket,
        fleet_bucket_name,
        shared_limiter,
    )

    url = redis_url if redis_url is not None else os.environ.get(ENV_REDIS_URL)
    if not url:
        return shared_limiter(api_key)
    return RedisTokenBucket(url, name=fleet_bucket_name(api_key), margin=DEFAULT_MARGIN)


def new_http_client(
    max_concurrency: int,
    transport: str,
    *,
    proxy: httpx.URL | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport]:
    """The client's own pool, and the ``httpx.AsyncClient`` that owns it.

    The pool is httpx's, aiohttp's behind httpx (``transport="aiohttp"``), or ``"auto"``
    (the default, ``_auto_transport``): aiohttp's under asyncio when installed. aiohttp's
    connection pool stays fast under concurrency (see benchmarks/); it needs the
    ``aiohttp-transport`` extra and runs under asyncio only. ``proxy`` (chosen by
    ``_proxies``) and ``ssl_context`` (``tls_context``) are the pool's own; httpx's
    reading of the environment stays off, the choice was made already. Every pool
    reports when a request starts going out (``middleware/_transport``), which the retry
    decision relies on, and the transport step sends to the pool directly
    (``middleware/_transport`` says why).
    """
    limits = httpx.Limits(
        max_connections=max_concurrency, max_keepalive_connections=max_concurrency
    )
    context = ssl_context or shared_ssl_context()
    pool: httpx.AsyncBaseTransport
    if transport == "httpx":
        pool = HttpxPool(ssl_context=context, limits=limits, proxy=proxy)
    elif transport == "aiohttp":
        pool = aiohttp_pool(context, limits, proxy)
    elif transport == "auto":
        from cryptopay_async._auto_transport import AutoTransport

        pool = AutoTransport(ssl_context=context, limits=limits, proxy=proxy)
    else:
        raise ValueError(
            f"unknown transport {transport!r}: valid values are 'auto', 'httpx', 'aiohttp'"
        )
    client = httpx.AsyncClient(
        verify=context, limits=limits, follow_redirects=False, trust_env=False, transport=pool
    )
    return client, pool


def aiohttp_pool(
    context: ssl.SSLContext, limits: httpx.Limits, proxy: httpx.URL | None
) -> httpx.AsyncBaseTransport:
    """The SDK's httpx transport over aiohttp's pool (``aiohttp-transport`` extra)."""
    try:
        from cryptopay_async._aiohttp_transport import AiohttpTransport
    except ImportError:
        raise ValueError(
            'transport="aiohttp" needs an extra: pip install "cryptopay-async[aiohttp-transport]"'
        ) from None
    aiohttp_proxy = None if proxy is None else httpx.Proxy(proxy)
    return AiohttpTransport(ssl_context=context, limits=limits, proxy=aiohttp_proxy)


def tls_context(
    verify: bool | str | os.PathLike[str] | ssl.SSLContext, trust_env: bool
) -> ssl.SSLContext:
    """The TLS context for ``verify``: the shared one by default (honouring
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), a CA bundle file or directory, or yours.

    Verification cannot be turned off: a signed request must only reach the server it
    was meant for. Behind an inspecting proxy, pass its CA (``verify="proxy-ca.pem"``).
    """
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is True:
        return shared_ssl_context() if trust_env else certifi_ssl_context()
    if verify is False:
        raise ValueError(
            "verify=False is not supported: pass the CA that signs the server's (or the "
            "proxy's) certificate instead, verify='/path/to/ca.pem'"
        )
    path = os.fspath(verify)
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    if os.path.isfile(path):
        return ssl.create_default_context(cafile=path)
    raise ValueError(f"verify={path!r}: no such CA bundle file or directory")


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every client: building one costs ~22 ms.

    httpx reads ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` here (once per process).
    """
    return httpx.create_ssl_context()


@functools.cache
def certifi_ssl_context() -> ssl.SSLContext:
    """Like ``shared_ssl_context`` but ignoring the environment (``trust_env=False``)."""
    return httpx.create_ssl_context(trust_env=False)
