"""The signing step: a fresh ``Date`` and HMAC ``Authorization`` on every attempt."""

from __future__ import annotations

import httpx

from cryptopay_async import _signing
from cryptopay_async._signing import CONTENT_TYPE, sign
from cryptopay_async.middleware._chain import CallNext


class SigningMiddleware:
    """Stamps a fresh ``Date`` and ``Authorization`` on every attempt.

    Innermost built-in step, so a retried request is re-signed with a new date. It signs
    ``request.url.raw_path``, the exact bytes httpx puts on the request line.
    """

    __slots__ = ("_api_key", "_api_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self._api_key = api_key
        self._api_secret = api_secret

    def __repr__(self) -> str:
        return "SigningMiddleware(api_key=..., api_secret=...)"

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        date = _signing.http_date()  # looked up per call: a test may set the clock
        signature = sign(
            self._api_secret,
            request.method,
            request.content,
            date,
            request.url.raw_path.decode("ascii"),
        )
        request.headers["Date"] = date
        request.headers["Content-Type"] = CONTENT_TYPE
        request.headers["Authorization"] = f"HMAC {self._api_key}:{signature}"
        return await call_next(request)
