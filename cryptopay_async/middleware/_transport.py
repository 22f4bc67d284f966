"""The end of the chain: one attempt sent with httpx, redirects off, logged at DEBUG."""

from __future__ import annotations

import logging
import time

import httpx

from cryptopay_async import _error_messages as say
from cryptopay_async._exceptions import error_payload
from cryptopay_async._extensions import ATTEMPT, LIMITER_WAIT
from cryptopay_async._logs import logger


class TransportEndpoint:
    """Sends one attempt with httpx, never following redirects, and logs it at DEBUG.

    A signed request must never go to a ``Location`` (least of all on another host),
    so redirects are off even when a caller-owned client enables them.
    """

    __slots__ = ("_http",)

    def __init__(self, http_client: httpx.AsyncClient) -> None:
        self._http = http_client

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._http.send(request, follow_redirects=False)
        except httpx.RequestError as exc:
            if logger.isEnabledFor(logging.DEBUG):
                _log_attempt(request, type(exc).__name__, started, None)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            _log_attempt(request, response.status_code, started, response)
        return response


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
