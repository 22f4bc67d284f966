"""The request pipeline: the middleware protocol, ``compose`` and every built-in step.

Order in every client, outermost first: ``AdmissionGate`` (before the request is
built), your ``middleware``, ``ErrorDecodingMiddleware``, ``RetryMiddleware``, your
``attempt_middleware`` (once per attempt), ``ConcurrencyLimitMiddleware``,
``RateLimitMiddleware``, ``SigningMiddleware``, with OpenTelemetry on the step
tracing each attempt, then ``TransportEndpoint``. One module per step; each is usable
and testable on its own.
"""

from cryptopay_async._extensions import ATTEMPT, LIMITER_WAIT
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
    "LIMITER_WAIT",
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
