"""The end of the chain: one attempt sent, redirects off, logged at DEBUG.

It also records for every attempt whether any of it may have left this machine
(``request.extensions[SENT]``), the fact the retry step and the caller base money
decisions on. The record comes from the transport's progress events (httpcore's
``trace`` extension, which the SDK's aiohttp transport emits too), not from the class of
the exception: a request whose headers started going out may have been processed,
whatever the transport later calls the failure.

A pool the SDK built is sent to directly, not through ``httpx.AsyncClient.send``. What
``send`` adds around the pool is unused by the SDK's own client (auth flows, event hooks,
redirects, mounts: the proxy is the pool's own; and a cookie jar it fills from every
response but never reads, since the SDK builds its requests itself), and it costs CPU on
every call, mostly that cookie jar parsing each response's headers into an
``email.message.Message`` (``benchmarks/profile_call.py``; ``benchmarks/RESULTS.md``,
its appendix). What the
SDK relies on is kept here: a closed client refuses to send, the response knows its
request, the body is read before returning, a failure closes the response, ``elapsed`` is
set, and an exception knows its request. A caller's own ``http_client`` is sent through
``send``, hooks and all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._payload import error_payload
from cryptopay_async._extensions import ATTEMPT, LIMITER_WAIT, SENT
from cryptopay_async._logs import logger

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]

# Failures that leave nothing sent when no request bytes started going out.
_BEFORE_SENDING = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Progress:
    """A ``trace`` callback noting how far an attempt got; passes events on to ``inner``."""

    __slots__ = ("connect_failed", "inner", "sending")

    def __init__(self, inner: Trace | None) -> None:
        self.inner = inner
        self.sending = False
        self.connect_failed = False

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        # httpcore: "http11.send_request_headers.started" (or http2.), "connection.
        # connect_tcp.failed", "connection.start_tls.failed"; the aiohttp transport alike.
        if name.endswith("send_request_headers.started"):
            self.sending = True
        elif name.startswith("connection.") and name.endswith(".failed"):
            self.connect_failed = True
        if self.inner is not None:
            await self.inner(name, info)

    def certainly_unsent(self, error: BaseException, *, trusted: bool) -> bool:
        """Whether ``error`` ended the attempt before any request byte was written.

        Only a connect or pool failure qualifies, and only when the transport is known
        to report its progress (``trusted``) or showed it does by reporting the failed
        connection: a transport that reports nothing proves nothing.
        """
        if self.sending or not isinstance(error, _BEFORE_SENDING):
            return False
        return trusted or self.connect_failed


class _Body(httpx.AsyncByteStream):
    """The request body as one chunk, iterated without an async generator.

    httpx's ``ByteStream`` yields from an async generator; a caller cancelled while the
    body is being sent leaves it half-run for the garbage collector, which trio reports
    as a ``ResourceWarning``. A plain iterator has nothing left to finalize.
    """

    __slots__ = ("_data", "_sent")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._sent = False

    def __aiter__(self) -> _Body:
        self._sent = False
        return self

    async def __anext__(self) -> bytes:
        if self._sent:
            raise StopAsyncIteration
        self._sent = True
        return self._data


class TransportEndpoint:
    """Sends one attempt, never following redirects, and logs it at DEBUG.

    A signed request must never go to a ``Location`` (least of all on another host),
    so redirects are off even when a caller-owned client enables them. ``pool`` is the
    transport of a client the SDK built (httpcore's, its aiohttp one, or ``auto``):
    requests go to it directly (see the module docstring), and it is known to report
    when request bytes start going out. Without it, requests go through
    ``http_client.send``.
    """

    __slots__ = ("_http", "_pool", "_trusted")

    def __init__(
        self,
        http_client: httpx.AsyncClient,
        *,
        pool: httpx.AsyncBaseTransport | None = None,
        trusted: bool = False,
    ) -> None:
        self._http = http_client
        self._pool = pool
        self._trusted = trusted or pool is not None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        # httpx may replace ``request.extensions`` with a copy: always go through request.
        outer = request.extensions.get("trace")
        if isinstance(outer, _Progress):  # left by an earlier attempt
            outer = outer.inner
        progress = _Progress(outer)
        request.extensions["trace"] = progress
        request.extensions[SENT] = True
        if type(request.stream) is httpx.ByteStream and request.content:
            request.stream = _Body(request.content)
        try:
            if self._pool is None:
                response = await self._http.send(request, follow_redirects=False)
            elif self._http.is_closed:  # the pool would quietly open new connections
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            else:
                response = await _send_to_pool(self._pool, request, started)
        except httpx.RequestError as exc:
            sent = not progress.certainly_unsent(exc, trusted=self._trusted)
            request.extensions[SENT] = sent
            if logger.isEnabledFor(logging.DEBUG):
                note = "maybe sent" if sent else "nothing sent"
                _log_attempt(request, f"{type(exc).__name__} ({note})", started, None)
            raise
        finally:
            if outer is None:
                request.extensions.pop("trace", None)
            else:
                request.extensions["trace"] = outer
        if logger.isEnabledFor(logging.DEBUG):
            _log_attempt(request, response.status_code, started, response)
        return response


async def _send_to_pool(
    pool: httpx.AsyncBaseTransport, request: httpx.Request, started: float
) -> httpx.Response:
    """What ``AsyncClient.send`` does around the pool that the SDK relies on, and no more."""
    try:
        response = await pool.handle_async_request(request)
    except httpx.RequestError as exc:
        _own(exc, request)
        raise
    response.request = request
    try:
        await response.aread()
    except BaseException as exc:
        if isinstance(exc, httpx.RequestError):
            _own(exc, request)
        await response.aclose()
        raise
    response.elapsed = timedelta(seconds=time.perf_counter() - started)
    return response


def _own(exc: httpx.RequestError, request: httpx.Request) -> None:
    """Give ``exc`` its request, as httpx's client does (``exc.request`` raises otherwise)."""
    try:
        exc.request  # noqa: B018 - the property raises when no request was set
    except RuntimeError:
        exc.request = request


def _log_attempt(
    request: httpx.Request, outcome: int | str, started: float, response: httpx.Response | None
) -> None:
    """``GET /api/x -> 200 attempt=1 elapsed=12.3ms limiter_wait=0.0ms request_id=- cf_ray=-``.

    The path is shown as sent (percent-encoded), so no id can forge a log line.
    """
    elapsed = (time.perf_counter() - started) * 1000
    wait = request.extensions.get(LIMITER_WAIT)
    request_id = cf_ray = None
    if response is not None:
        cf_ray = response.headers.get("cf-ray")
        if response.status_code >= 400:
            payload = error_payload(response)
            request_id = payload[1] if payload else None
    logger.debug(
        "%s -> %s attempt=%s elapsed=%.1fms limiter_wait=%s request_id=%s cf_ray=%s",
        say.where(request),
        outcome,
        request.extensions.get(ATTEMPT, 1),
        elapsed,
        "-" if wait is None else f"{wait * 1000:.1f}ms",
        say.clip(request_id, say.MAX_ID) if request_id else "-",
        say.clip(cf_ray, say.MAX_ID) if cf_ray else "-",
    )
