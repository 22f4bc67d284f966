"""The middleware protocol and the built-in steps, each usable and testable on its own.

Order in every client, outermost first: your middleware, ``ErrorDecodingMiddleware``,
``RetryMiddleware``, ``ConcurrencyLimitMiddleware``, ``RateLimitMiddleware``,
``SigningMiddleware``, then the transport.
"""

from cryptopay_async._concurrency import ConcurrencyLimitMiddleware
from cryptopay_async._error_decoding import ErrorDecodingMiddleware
from cryptopay_async._middleware import CallNext, Middleware, compose
from cryptopay_async._retry import RetryMiddleware, RetryPolicy
from cryptopay_async._signing import SigningMiddleware
from cryptopay_async._transport import TransportEndpoint
from cryptopay_async.ratelimit import RateLimitMiddleware

__all__ = [
    "CallNext",
    "ConcurrencyLimitMiddleware",
    "ErrorDecodingMiddleware",
    "Middleware",
    "RateLimitMiddleware",
    "RetryMiddleware",
    "RetryPolicy",
    "SigningMiddleware",
    "TransportEndpoint",
    "compose",
]
