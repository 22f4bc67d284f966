"""httpx's pool as the SDK runs it: one httpcore pool per connection, a request to an idle one.

httpcore's connection pool does work in proportion to the square of its size on every
request and every response it closes: ``_assign_requests_to_connections`` counts the
idle connections once per idle connection (``is_idle``) and probes each idle socket for
readability, rebuilding anyio's attribute table each time. Profiled on loopback at
concurrency 64, that was most of the CPU per call. Sixteen pools of one connection each,
a request going to a pool with nothing in flight, keep the same connections, keep-alive
and limits and do none of that scanning, and served the most calls per second of the
arrangements tried (``benchmarks/bench_http.py``; one pool of 16, four of 4 and sixteen
of 1 are compared in ``benchmarks/RESULTS.md``, its appendix).

No library offers this arrangement, and it is small: a list of httpcore-backed
transports and a count of requests in flight on each. The SDK's concurrency step admits
at most ``max_concurrency`` attempts, one per pool, so a request finds an idle pool; were
every pool busy, it would go to the least busy one and wait there as httpcore waits.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable

import httpx


class HttpxPool(httpx.AsyncBaseTransport):
    """``size`` connections, each in its own ``httpx.AsyncHTTPTransport``."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
        proxy: httpx.URL | None = None,
    ) -> None:
        size = limits.max_connections or 1
        one = httpx.Limits(
            max_connections=1, max_keepalive_connections=1, keepalive_expiry=limits.keepalive_expiry
        )
        self._pools = [
            httpx.AsyncHTTPTransport(verify=ssl_context, limits=one, proxy=proxy)
            for _ in range(size)
        ]
        self._in_flight = [0] * size
        self._idle = list(range(size - 1, -1, -1))
        """Pools with nothing in flight; the most recently used last, so it is reused."""

    def _take(self) -> int:
        if self._idle:
            index = self._idle.pop()
        else:
            index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        return index

    def _give_back(self, index: int) -> None:
        self._in_flight[index] -= 1
        if not self._in_flight[index]:
            self._idle.append(index)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._take()
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._give_back(index)
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # an async transport's body
        response.stream = _Released(stream, lambda: self._give_back(index))
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

    @property
    def in_flight(self) -> list[int]:
        """Requests in flight per pool (a request counts until its body is closed)."""
        return list(self._in_flight)


class _Released(httpx.AsyncByteStream):
    """A response body that gives its pool back when closed (once, however it ends)."""

    __slots__ = ("_release", "_stream")

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                release()
