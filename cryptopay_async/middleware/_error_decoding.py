"""Turning failed answers and network failures into the SDK's exceptions."""

from __future__ import annotations

import httpx

from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._ambiguity import advise, transport_failure_maybe_processed
from cryptopay_async._errors._exceptions import (
    APIConnectionError,
    APITimeoutError,
    status_error_from_response,
)
from cryptopay_async.middleware._chain import CallNext

_CONDITIONAL_HEADERS = ("if-none-match", "if-modified-since")


class ErrorDecodingMiddleware:
    """Outermost built-in step: 2xx passes, anything else raises a typed exception.

    It sits outside the retry step, so it only sees the final answer: a 503 that a
    retry cured never reaches the caller. A 304 passes only when the request was
    conditional (the caller asked for it); redirects are errors and are never followed.
    Every error says whether the request may have been processed (``maybe_processed``)
    and, when it may have been, what to do about it.
    """

    async def __call__(self, request: httpx.Request, call_next: CallNext) -> httpx.Response:
        try:
            response = await call_next(request)
        except httpx.TimeoutException as exc:
            error: APIConnectionError = APITimeoutError(
                f"{say.where(request)} timed out {say.after_attempts(request)} "
                f"({say.failure(exc)})",
                request=request,
                maybe_processed=transport_failure_maybe_processed(request, exc),
            )
            advise(error, request)
            raise error from exc
        except httpx.RequestError as exc:
            error = APIConnectionError(
                f"{say.where(request)} failed {say.after_attempts(request)}: {say.failure(exc)}",
                request=request,
                maybe_processed=transport_failure_maybe_processed(request, exc),
            )
            advise(error, request)
            raise error from exc
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status == 304 and any(h in request.headers for h in _CONDITIONAL_HEADERS):
            return response
        status_error = status_error_from_response(response)
        advise(status_error, request)
        raise status_error
