"""``transport="aiohttp"``: httpx requests carried over aiohttp's connection pool.

Written here rather than taken from httpx-aiohttp because that package maps every
``aiohttp.ClientConnectionError`` (a server that read a POST and then disconnected, a
reset after sending) to ``httpx.ConnectTimeout``, which says "never sent" about a
request the server may have processed; a retry then moved money twice. This transport
decides from how far the request got (whether aiohttp handed it a connection), never
from an exception's class alone:

* before a connection was obtained, nothing was sent: ``httpx.ConnectTimeout`` for a
  timeout, ``httpx.ConnectError`` otherwise;
* once a connection was obtained, the request may have been sent: a read timeout is
  ``httpx.ReadTimeout``, a disconnect or a malformed or truncated answer
  ``httpx.RemoteProtocolError``, any other socket failure ``httpx.ReadError``.

It also emits httpcore's ``trace`` event "http11.send_request_headers.started" to the
request's ``trace`` extension when a connection was obtained, so the client's transport
step records progress the same way for both transports. aiohttp has no write
timeout; httpx's ``connect`` becomes ``sock_connect``, ``pool`` the time to obtain a
connection, ``read`` ``sock_read``. aiohttp runs under asyncio only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace as Trace_
from multidict import CIMultiDict

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]

_CHUNK = 64 * 1024


class _Attempt:
    """How far aiohttp got with one request, reported to the request's httpx ``trace``."""

    __slots__ = ("connected", "trace")

    def __init__(self, trace: Trace | None) -> None:
        self.trace = trace
        self.connected = False

    async def sending(self) -> None:
        self.connected = True
        if self.trace is not None:
            await self.trace("http11.send_request_headers.started", {})


# The attempt of the request this task is sending: aiohttp asks its connector for a
# connection in the caller's task, so the connector finds the attempt here.
_CURRENT: ContextVar[_Attempt | None] = ContextVar("cryptopay_aiohttp_attempt", default=None)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's pool, noting when a request gets its connection.

    aiohttp writes the request as soon as it holds a connection: from then on the
    server may receive it, so that is where "sending" starts, conservatively early. A
    connector override costs less per request than aiohttp's tracing signals.
    """

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace_],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's signature)
    ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        attempt = _CURRENT.get()
        if attempt is not None:
            await attempt.sending()
        return connection


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
        # Credentials stay in the proxy URL: aiohttp turns them into Proxy-Authorization
        # for plain http targets and for CONNECT alike (its proxy_headers reach only the
        # CONNECT, its BasicAuth is deprecated).
        self._proxy: str | None = None
        if proxy is not None:
            url = proxy.url
            if proxy.auth is not None:
                url = url.copy_with(username=proxy.auth[0], password=proxy.auth[1])
            self._proxy = str(url)
        self._proxy_headers = None if proxy is None else CIMultiDict(proxy.headers.multi_items())

    def _open_session(self) -> aiohttp.ClientSession:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError('transport="aiohttp" runs under asyncio only; use "httpx"') from None
        connector = _Connector(
            ssl=self._ssl_context,
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
        )
        session = aiohttp.ClientSession(
            connector=connector,
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
        current = _CURRENT.set(attempt)
        try:
            response = await self._session.request(
                request.method,
                # As signed: yarl would decode %3A and %2B in the query otherwise.
                yarl.URL(str(request.url), encoded=True),
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
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            )
        except _AIOHTTP_FAILURES as exc:
            raise translate(exc, connected=attempt.connected) from exc
        finally:
            _CURRENT.reset(current)
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
