"""``transport="aiohttp"``: httpx requests carried over aiohttp's connection pool.

Written here rather than taken from httpx-aiohttp because that package maps every
``aiohttp.ClientConnectionError`` (a server that read a POST and then disconnected, a
reset after sending) to ``httpx.ConnectTimeout``, which says "never sent" about a
request the server may have processed; a retry then moved money twice. This transport
decides from what aiohttp reports about the request's progress (its ``TraceConfig``
signals), never from an exception's class alone:

* before a connection was obtained, nothing was sent: ``httpx.ConnectTimeout`` for a
  timeout, ``httpx.ConnectError`` otherwise;
* once a connection was obtained, the request may have been sent: a read timeout is
  ``httpx.ReadTimeout``, a disconnect or a malformed or truncated answer
  ``httpx.RemoteProtocolError``, any other socket failure ``httpx.ReadError``.

It also emits httpcore's ``trace`` events ("connection.connect_tcp.*",
"http11.send_request_headers.*") to the request's ``trace`` extension, so the client's
transport step records progress the same way for both transports. aiohttp has no write
timeout; httpx's ``connect`` becomes ``sock_connect``, ``pool`` the time to obtain a
connection, ``read`` ``sock_read``. aiohttp runs under asyncio only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]

_CHUNK = 64 * 1024


class _Attempt:
    """What aiohttp reported about one request so far, forwarded to httpx's ``trace``."""

    __slots__ = ("connected", "trace")

    def __init__(self, trace: Trace | None) -> None:
        self.trace = trace
        self.connected = False

    async def emit(self, name: str) -> None:
        if self.trace is not None:
            await self.trace(name, {})


_SENDING = "http11.send_request_headers.started"

Signal = Callable[[aiohttp.ClientSession, SimpleNamespace, object], Awaitable[None]]


def _signal(*events: str, connected: bool = False) -> Signal:
    """An aiohttp trace handler that forwards ``events`` to the request's httpx trace."""

    async def handler(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: object
    ) -> None:
        attempt: _Attempt = context.trace_request_ctx
        if connected:
            attempt.connected = True
        for event in events:
            await attempt.emit(event)

    return handler


def _trace_config() -> aiohttp.TraceConfig:
    # aiohttp writes the request as soon as it holds a connection: from then on the
    # server may receive it, so that is where "sending" starts, conservatively early.
    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(_signal("connection.connect_tcp.started"))
    config.on_connection_create_end.append(
        _signal("connection.connect_tcp.complete", _SENDING, connected=True)
    )
    config.on_connection_reuseconn.append(_signal(_SENDING, connected=True))
    config.on_request_headers_sent.append(_signal("http11.send_request_headers.complete"))
    return config


# What aiohttp raises for network trouble. TimeoutError (asyncio's since 3.11) and
# ConnectionError are OSErrors; aiohttp wraps most of them, but not every path does.
_AIOHTTP_FAILURES = (aiohttp.ClientError, OSError)


def translate(error: BaseException, *, connected: bool) -> httpx.TransportError:
    """The httpx exception that says what happened to a request aiohttp failed to carry."""
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if not connected:
        if isinstance(error, TimeoutError):
            return httpx.ConnectTimeout(message)
        if isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return httpx.UnsupportedProtocol(message)
        return httpx.ConnectError(message)
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(
        error,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


class _ResponseStream(httpx.AsyncByteStream):
    """The answer's body as aiohttp reads it; failures become httpx read errors."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except _AIOHTTP_FAILURES as exc:
            raise translate(exc, connected=True) from exc

    async def aclose(self) -> None:
        # Returns the connection to the pool when the body was read, closes it otherwise.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one ``aiohttp.ClientSession``, created on first use."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        # A proxy's CONNECT happens while aiohttp creates the connection: a failure
        # there is a connect failure (nothing of the request was sent).
        self._proxy = None if proxy is None else str(proxy.url)
        self._proxy_headers = None if proxy is None else CIMultiDict(proxy.headers.multi_items())

    def _open_session(self) -> aiohttp.ClientSession:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError('transport="aiohttp" runs under asyncio only; use "httpx"') from None
        connector = aiohttp.TCPConnector(
            ssl=self._ssl_context,
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[_trace_config()],
            auto_decompress=False,  # httpx decodes Content-Encoding itself
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # aiohttp silently sends a GET again after a disconnect; the SDK's retry policy
        # must be the only one repeating requests (counted, backed off, logged). There
        # is no public switch; tests/test_transport_faults.py counts arrivals to catch
        # a change.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        attempt = _Attempt(request.extensions.get("trace"))
        body = await request.aread()
        try:
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=CIMultiDict(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                trace_request_ctx=attempt,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            )
        except _AIOHTTP_FAILURES as exc:
            raise translate(exc, connected=attempt.connected) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
