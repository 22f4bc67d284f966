"""cryptopay-async: an async (asyncio and trio) SDK for the Cryptopay payments API."""

from cryptopay_async import _logs
from cryptopay_async._client import AsyncCryptopay
from cryptopay_async._errors._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    CommitExpiredError,
    ConflictError,
    CryptopayError,
    CustomIdMismatchError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    RecoveryError,
    ServerError,
    ServiceUnavailableError,
    SignatureVerificationError,
    UnprocessableEntityError,
)
from cryptopay_async._runtime._raw_response import APIResponse
from cryptopay_async._version import __version__
from cryptopay_async.middleware._chain import CallNext, Middleware
from cryptopay_async.middleware._retry import RetryPolicy

_logs.enable_from_environment()

# Public names show where users import them from (``cryptopay_async.AuthenticationError``
# in tracebacks and reprs), not the private module that defines them; as httpx does.
for _name in ("APIResponse", "AsyncCryptopay", "ErrorDetail", "RetryPolicy"):
    globals()[_name].__module__ = __name__
for _value in list(globals().values()):
    if isinstance(_value, type) and issubclass(_value, CryptopayError):
        _value.__module__ = __name__

__all__ = [
    "APIConnectionError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCryptopay",
    "AuthenticationError",
    "BadRequestError",
    "CallNext",
    "ClientError",
    "CommitExpiredError",
    "ConflictError",
    "CryptopayError",
    "CustomIdMismatchError",
    "ErrorDetail",
    "InternalServerError",
    "Middleware",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RecoveryError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
    "__version__",
]
