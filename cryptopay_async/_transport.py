"""The end of the chain: one attempt sent with httpx, redirects off, logged at DEBUG."""

from __future__ import annotations

import logging
import time

import httpx

from cryptopay_async import _error_messages as say
from cryptopay_async._exceptions import error_payload
from cryptopay_async._retry import ATTEMPT

logger = logging.getLogger("cryptopay_async")


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
            request_id = None
            if response.status_code >= 400:
                payload = error_payload(response)
                request_id = payload[1] if payload else None
            _log_attempt(request, response.status_code, started, request_id)
        return response


def _log_attempt(
    request: httpx.Request, outcome: int | str, started: float, request_id: str | None
) -> None:
    logger.debug(
        "%s -> %s attempt=%s elapsed=%.1fms request_id=%s",
        say.where(request),
        outcome,
        request.extensions.get(ATTEMPT, 1),
        (time.perf_counter() - started) * 1000,
        say.clip(request_id, say.MAX_ID) if request_id else "-",
    )
