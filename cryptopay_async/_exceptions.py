"""The exception tree: one class per status a caller can act on differently."""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from cryptopay_async import _json
from cryptopay_async._headers import parse_retry_after

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "CryptopayError",
    "ErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "ServerError",
    "ServiceUnavailableError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
]


class CryptopayError(Exception):
    """Base of every error this SDK raises on purpose."""


class APIConnectionError(CryptopayError):
    """The request failed at the network level: no HTTP answer was received.

    For POST and PATCH the server may still have acted on it (the answer was lost,
    not the request): read the object back by its ``custom_id`` before repeating.
    """

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, writing, reading or waiting for the pool)."""


class RateLimiterUnavailableError(CryptopayError):
    """The shared rate limiter's store (Redis) failed or did not answer in time.

    Raised before the request is built or sent: nothing reached Cryptopay, so the call
    can be repeated safely once the store is back.
    """


class APIResponseValidationError(CryptopayError):
    """A 2xx answer whose body is not the documented JSON."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


class SignatureVerificationError(CryptopayError):
    """A callback's ``X-Cryptopay-Signature`` does not match its body."""


@attrs.frozen
class ErrorDetail:
    """One failed validation rule of a 422 answer (``error.details[]``)."""

    code: str
    target: str | None = None
    message: str | None = None
    args: dict[str, Any] = attrs.field(factory=dict)


class APIStatusError(CryptopayError):
    """The server answered with a status that is not success.

    Carries the decoded error payload (``code``, ``message``, ``details``,
    ``request_id``) and the raw ``httpx.Response``; quote ``request_id`` to support.
    """

    status_code: int
    code: str | None
    message: str
    details: list[ErrorDetail]
    request_id: str | None
    response: httpx.Response

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status_code = response.status_code
        self.code = code
        self.message = message
        self.details = details or []
        self.request_id = request_id
        self.response = response
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        head = f"{self.status_code} {self.code}" if self.code else str(self.status_code)
        text = f"{head}: {self.message}"
        if self.details:
            text += " [" + "; ".join(_describe(d) for d in self.details) + "]"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text


def _describe(detail: ErrorDetail) -> str:
    if detail.target and detail.message:
        return f"{detail.target} {detail.message}"
    return detail.message or detail.code


class ClientError(APIStatusError):
    """4xx: the request was refused; repeating it unchanged will not help."""


class BadRequestError(ClientError):
    """400: the request could not be understood."""


class AuthenticationError(ClientError):
    """401: the HMAC signature or the API key did not verify."""


class PermissionDeniedError(ClientError):
    """403: the key may not do this, or the caller's IP is not whitelisted."""


class NotFoundError(ClientError):
    """404: no such object (unknown id, custom id or rate pair)."""


class ConflictError(ClientError):
    """409: in practice the ``custom_id`` was already used; the first request won."""


class UnprocessableEntityError(ClientError):
    """422: valid syntax, invalid content; ``details`` names each failed field."""


class RateLimitError(ClientError):
    """429: more than 200 requests per minute for this API key."""

    retry_after: float | None

    def __init__(self, message: str, *, response: httpx.Response, **kwargs: Any) -> None:
        self.retry_after = parse_retry_after(response.headers)
        super().__init__(message, response=response, **kwargs)


class ServerError(APIStatusError):
    """5xx: the server failed; a POST may or may not have been processed."""


class InternalServerError(ServerError):
    """500: an internal error at Cryptopay."""


class ServiceUnavailableError(ServerError):
    """503: Cryptopay is down for maintenance; the request was not processed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The most specific class for a status; unknown ones map to their family."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if 400 <= status_code < 500:
        return ClientError
    if 500 <= status_code < 600:
        return ServerError
    return APIStatusError


def status_error_from_response(response: httpx.Response) -> APIStatusError:
    """Decode ``{"error": {...}, "meta": {"request_id"}}``, or fall back to the status text."""
    cls = status_error_class(response.status_code)
    payload = error_payload(response)
    if payload is None:
        return cls(_status_text(response), response=response)
    error, request_id = payload
    details = [_detail(item) for item in error.get("details") or () if isinstance(item, dict)]
    message = error.get("message")
    code = error.get("code")
    return cls(
        message if isinstance(message, str) and message else _status_text(response),
        response=response,
        code=code if isinstance(code, str) else None,
        details=details,
        request_id=request_id,
    )


def error_payload(response: httpx.Response) -> tuple[dict[str, Any], str | None] | None:
    """The ``error`` object and ``meta.request_id`` of a body, or None if it has another shape."""
    try:
        body = _json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    meta = body.get("meta")
    request_id = meta.get("request_id") if isinstance(meta, dict) else None
    return body["error"], request_id if isinstance(request_id, str) else None


def _detail(item: dict[str, Any]) -> ErrorDetail:
    args = item.get("args")
    return ErrorDetail(
        code=str(item.get("code", "")),
        target=item.get("target") if isinstance(item.get("target"), str) else None,
        message=item.get("message") if isinstance(item.get("message"), str) else None,
        args=args if isinstance(args, dict) else {},
    )


def _status_text(response: httpx.Response) -> str:
    return response.reason_phrase or f"HTTP {response.status_code}"
