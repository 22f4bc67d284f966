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
    CommitExpiredError,
    ConflictError,
    CryptopayError,
    CustomIdMismatchError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RecoveryError,
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
    "RecoveryError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
    "__version__",
]
