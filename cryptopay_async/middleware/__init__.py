"""The request pipeline: the middleware protocol, ``compose`` and every built-in step.

Order in every client, outermost first: ``AdmissionGate`` (before the request is even
built), your middleware, ``ErrorDecodingMiddleware``, ``RetryMiddleware``,
``ConcurrencyLimitMiddleware``, ``RateLimitMiddleware``, ``SigningMiddleware``, then
``TransportEndpoint``. One module per step; each is usable and testable on its own.
"""

from cryptopay_async._extensions import ATTEMPT
from cryptopay_async.middleware._admission import AdmissionGate
from cryptopay_async.middleware._chain import CallNext, Middleware, compose
from cryptopay_async.middleware._concurrency import ConcurrencyLimitMiddleware
from cryptopay_async.middleware._error_decoding import ErrorDecodingMiddleware
from cryptopay_async.middleware._rate_limit import RateLimitMiddleware
from cryptopay_async.middleware._retry import RetryMiddleware, RetryPolicy
from cryptopay_async.middleware._signing import SigningMiddleware
from cryptopay_async.middleware._transport import TransportEndpoint

__all__ = [
    "ATTEMPT",
    "AdmissionGate",
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
