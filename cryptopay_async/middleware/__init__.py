"""The middleware protocol and the built-in steps, each usable and testable on its own.

Order in every client, outermost first: your middleware, ``ErrorDecodingMiddleware``,
``RetryMiddleware``, ``ConcurrencyLimitMiddleware``, ``RateLimitMiddleware``,
``SigningMiddleware``, then the transport.
"""

from cryptopay_async.middleware._chain import CallNext, Middleware, compose
from cryptopay_async.middleware._concurrency import ConcurrencyLimitMiddleware
from cryptopay_async.middleware._error_decoding import ErrorDecodingMiddleware
from cryptopay_async.middleware._rate_limit import RateLimitMiddleware
from cryptopay_async.middleware._retry import RetryMiddleware, RetryPolicy
from cryptopay_async.middleware._signing import SigningMiddleware
from cryptopay_async.middleware._transport import TransportEndpoint

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
