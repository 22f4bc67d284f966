"""The exception tree: one class per status a caller can act on differently."""

from __future__ import annotations

from typing import Any

import httpx

from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._payload import ErrorDetail, detail_of, error_payload, status_text
from cryptopay_async._extensions import retry_after

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientError",
    "CommitExpiredError",
    "ConflictError",
    "CryptopayError",
    "CustomIdMismatchError",
    "ErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RecoveryError",
    "ServerError",
    "ServiceUnavailableError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
]


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CryptopayError(Exception):
    """Base of every error this SDK raises on purpose.

    ``maybe_processed`` is True when the server may have acted on the request although
    an error was raised (an object created, money moved): look before repeating it. It
    is False where the request certainly did not act (refused, never sent, a read).
    """

    maybe_processed: bool = False

    def _amend(self, advice: str) -> None:
        """Append what to do to the message (``str(error)``)."""
        head = str(self.args[0]) if self.args else ""
        Exception.__init__(self, f"{head}; {advice}" if head else advice, *self.args[1:])


class APIConnectionError(CryptopayError):
    """The request failed at the network level: no HTTP answer was received.

    For POST and PATCH the server may still have acted on it (the answer was lost,
    not the request): read the object back by its ``custom_id`` before repeating.
    """

    def __init__(
        self, message: str, *, request: httpx.Request, maybe_processed: bool | None = None
    ) -> None:
        super().__init__(message)
        self.request = request
        if maybe_processed is None:  # unknown stage of failure: assume the worst for a write
            maybe_processed = request.method not in READ_ONLY_METHODS
        self.maybe_processed = maybe_processed


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, writing, reading or waiting for the pool)."""


class RateLimiterUnavailableError(CryptopayError):
    """The shared rate limiter's store (Redis) failed or did not answer in time.

    Raised before the request is built or sent: nothing reached Cryptopay, so the call
    can be repeated safely once the store is back.
    """


class APIResponseValidationError(CryptopayError):
    """A 2xx answer whose body is not the documented JSON.

    The server accepted the request: for a POST or PATCH it acted on it
    (``maybe_processed``), so do not send it again; read the object back instead.
    """

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response
        self.maybe_processed: bool = _method(response) not in READ_ONLY_METHODS
        if self.maybe_processed:
            self._amend(
                "the server accepted the request, so it was processed: do not send it "
                "again; read the object back instead"
            )


class SignatureVerificationError(CryptopayError):
    """A callback's ``X-Cryptopay-Signature`` does not match its body."""


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
        # A 5xx other than 503 may come after the work was done; a read changes nothing.
        self.maybe_processed: bool = (
            response.status_code >= 500
            and response.status_code != 503
            and _method(response) not in READ_ONLY_METHODS
        )
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        """``GET /api/x -> 404 not_found: not found [details]; hint (request_id=...)``."""
        code = f" {say.clip(self.code, 40)}" if self.code else ""
        text = f"{self.status_code}{code}: {say.clip(self.message)}"
        request = say.request_of(self.response)
        if request is not None:
            text = f"{say.where(request)} -> {text}"
        if self.details:
            text += " " + say.describe_details(self.details)
        hint = self._hint(request) if request is not None else None
        if hint:
            text += f"; {hint}"
        if self.request_id:
            text += f" (request_id={say.clip(self.request_id, 64)})"
        return say.clip(text, say.MAX_LINE)

    def _hint(self, request: httpx.Request) -> str | None:
        """What to check or do next, when the status says more than its text."""
        if self.status_code >= 500 or say.attempts(request) > 1:
            return say.after_attempts(request)
        return None


def _method(response: httpx.Response) -> str | None:
    request = say.request_of(response)  # None: built without its request, method unknown
    return None if request is None else request.method


class ClientError(APIStatusError):
    """4xx: the request was refused; repeating it unchanged will not help."""


class BadRequestError(ClientError):
    """400: the request could not be understood."""


class AuthenticationError(ClientError):
    """401: the HMAC signature or the API key did not verify.

    ``str()`` lists what to check: the key (its first characters) and the environment
    it belongs to, the secret, and the clock (measured against the server's ``Date``).
    """

    def _hint(self, request: httpx.Request) -> str | None:
        return say.authentication_hint(request, self.response)


class PermissionDeniedError(ClientError):
    """403: the key may not do this, or the caller's IP is not whitelisted."""


class NotFoundError(ClientError):
    """404: no such object (unknown id, custom id or rate pair)."""


class ConflictError(ClientError):
    """409: in practice the ``custom_id`` was already used; the first request won.

    ``str()`` names the ``custom_id`` the request carried.
    """

    def _hint(self, request: httpx.Request) -> str | None:
        return say.conflict_hint(request)


class UnprocessableEntityError(ClientError):
    """422: valid syntax, invalid content; ``details`` names each failed field."""


class RateLimitError(ClientError):
    """429: more requests than the server allows for this API key (200 per minute, as
    documented); ``str()`` says what this client's limiter allows."""

    retry_after: float | None

    def __init__(self, message: str, *, response: httpx.Response, **kwargs: Any) -> None:
        self.retry_after = retry_after(response)
        super().__init__(message, response=response, **kwargs)

    def _hint(self, request: httpx.Request) -> str | None:
        hint = f"{say.after_attempts(request)} ({say.rate_limit_hint(request)})"
        if self.retry_after is not None:
            hint += f"; Retry-After {self.retry_after:g} s"
        return hint


class ServerError(APIStatusError):
    """5xx: the server failed; a POST may or may not have been processed."""


class InternalServerError(ServerError):
    """500: an internal error at Cryptopay."""


class ServiceUnavailableError(ServerError):
    """503: Cryptopay is down for maintenance; the request was not processed."""


class CommitExpiredError(UnprocessableEntityError):
    """422: a two-step withdrawal, transfer or recalculation was committed after its
    30-second window. It expired unprocessed: nothing was moved. Create a new one."""


class RecoveryError(CryptopayError):
    """An ambiguous create or commit that the SDK could not settle by itself.

    The message says what is known and what to do; ``maybe_processed`` says whether
    the object may exist.
    """

    def __init__(self, message: str, *, maybe_processed: bool) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed


class CustomIdMismatchError(RecoveryError):
    """The object read back by ``custom_id`` is not what this call asked for.

    Another request (or another program) used the same ``custom_id`` with other
    values; the SDK refuses to hand you someone else's object. ``differences`` maps
    each field to ``(asked, found)``; ``found`` is the object as the API holds it.
    """

    def __init__(
        self, message: str, *, custom_id: str, differences: dict[str, tuple[Any, Any]], found: Any
    ) -> None:
        super().__init__(message, maybe_processed=False)
        self.custom_id = custom_id
        self.differences = differences
        self.found = found


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
        return cls(status_text(response), response=response)
    error, request_id = payload
    listed = error.get("details")  # any JSON: a list of objects is what the API documents
    listed = listed if isinstance(listed, list) else []
    details = [detail_of(item) for item in listed if isinstance(item, dict)]
    message = error.get("message")
    code = error.get("code")
    return cls(
        message if isinstance(message, str) and message else status_text(response),
        response=response,
        code=code if isinstance(code, str) else None,
        details=details,
        request_id=request_id,
    )
