"""cryptopay-async: an async (asyncio and trio) SDK for the Cryptopay payments API."""

from cryptopay_async._client import AsyncCryptopay
from cryptopay_async._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    CryptopayError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    ServerError,
    ServiceUnavailableError,
    SignatureVerificationError,
    UnprocessableEntityError,
)
from cryptopay_async._middleware import CallNext, Middleware
from cryptopay_async._retry import RetryPolicy
from cryptopay_async._version import __version__

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCryptopay",
    "AuthenticationError",
    "BadRequestError",
    "CallNext",
    "ClientError",
    "ConflictError",
    "CryptopayError",
    "ErrorDetail",
    "InternalServerError",
    "Middleware",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
    "__version__",
]
