"""``transport="auto"``, the default: aiohttp's pool under asyncio when installed, else httpx's.

Why aiohttp's pool first: side by side on loopback (``benchmarks/bench_http.py``), httpx's
pool spends most of its CPU re-scanning its connections on every request (httpcore's
``_assign_requests_to_connections`` and ``has_expired``), so the SDK over aiohttp serves
more calls per second, and a smaller httpx pool only narrows the gap
(``benchmarks/RESULTS.md``, sections a, g and h). The SDK's own aiohttp transport reports
its progress like httpcore (``middleware/_transport``), so retry decisions do not depend
on which pool ran.

Which library runs the event loop is known only when a request is sent (a client may be
built outside any loop, then used under trio), so the choice is made per request: asyncio
with aiohttp installed (``speedups`` or ``aiohttp-transport`` extra) and a proxy aiohttp
can use gets aiohttp's pool; trio, a missing aiohttp or a SOCKS proxy get httpx's. Each
pool is built once, on first use, or by ``prepare()`` when the client is entered: building
the aiohttp pool imports aiohttp, which must not happen between a rate limiter's grant and
the request it granted (the request would reach the server that much later than granted).
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl

import httpx

from cryptopay_async._extras import install_hint
from cryptopay_async._transports._httpx_pool import HttpxPool
from cryptopay_async._transports._proxies import SCHEMES


def aiohttp_installed() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


def _running_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class AutoTransport(httpx.AsyncBaseTransport):
    """Delegates each request to the pool for the running event loop's library."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext, limits: httpx.Limits, proxy: httpx.URL | None
    ) -> None:
        self._ssl_context = ssl_context
        self._limits = limits
        self._proxy = proxy
        self._aiohttp_usable = aiohttp_installed() and (
            proxy is None or proxy.scheme in SCHEMES["aiohttp"]
        )
        self._pools: dict[bool, httpx.AsyncBaseTransport] = {}

    def _pool(self, use_aiohttp: bool) -> httpx.AsyncBaseTransport:
        pool = self._pools.get(use_aiohttp)
        if pool is None:
            if use_aiohttp:
                pool = aiohttp_pool(self._ssl_context, self._limits, self._proxy)
            else:
                pool = HttpxPool(
                    ssl_context=self._ssl_context, limits=self._limits, proxy=self._proxy
                )
            self._pools[use_aiohttp] = pool
        return pool

    def prepare(self) -> None:
        """Build the pool the running event loop will use, before any request needs it."""
        self._pool(self._aiohttp_usable and _running_asyncio())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        use_aiohttp = self._aiohttp_usable and _running_asyncio()
        return await self._pool(use_aiohttp).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def aiohttp_pool(
    context: ssl.SSLContext, limits: httpx.Limits, proxy: httpx.URL | None
) -> httpx.AsyncBaseTransport:
    """The SDK's httpx transport over aiohttp's pool (``aiohttp-transport`` extra)."""
    try:
        from cryptopay_async._transports._aiohttp import AiohttpTransport
    except ImportError:
        raise ValueError(install_hint("aiohttp-transport", 'transport="aiohttp"')) from None
    aiohttp_proxy = None if proxy is None else httpx.Proxy(proxy)
    return AiohttpTransport(ssl_context=context, limits=limits, proxy=aiohttp_proxy)
