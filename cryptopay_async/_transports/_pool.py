"""The client's own connection pool and its TLS context.

Which pool (``transport=``), with which proxy and CA: chosen once per client, here.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx

from cryptopay_async._transports._auto import AutoTransport, aiohttp_pool
from cryptopay_async._transports._httpx_pool import HttpxPool


def new_http_client(
    max_concurrency: int,
    transport: str,
    *,
    proxy: httpx.URL | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport]:
    """The client's own pool, and the ``httpx.AsyncClient`` that owns it.

    The pool is httpx's, aiohttp's behind httpx (``transport="aiohttp"``), or ``"auto"``
    (the default, ``_auto.py``): aiohttp's under asyncio when installed. aiohttp's
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
        pool = AutoTransport(ssl_context=context, limits=limits, proxy=proxy)
    else:
        raise ValueError(
            f"unknown transport {transport!r}: valid values are 'auto', 'httpx', 'aiohttp'"
        )
    client = httpx.AsyncClient(
        verify=context, limits=limits, follow_redirects=False, trust_env=False, transport=pool
    )
    return client, pool


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
    """One verified TLS context for every client: building one (loading the CA bundle) is
    the costliest part of constructing a client (``benchmarks/RESULTS.md``, section d).

    httpx reads ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` here (once per process).
    """
    return httpx.create_ssl_context()


@functools.cache
def certifi_ssl_context() -> ssl.SSLContext:
    """Like ``shared_ssl_context`` but ignoring the environment (``trust_env=False``)."""
    return httpx.create_ssl_context(trust_env=False)
