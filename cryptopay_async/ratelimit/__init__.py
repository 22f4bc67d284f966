"""Client-side pacing: 200 requests per minute per API key, shared by every client."""

from __future__ import annotations

import hashlib
import threading

from cryptopay_async._errors._exceptions import RateLimiterUnavailableError
from cryptopay_async.middleware._limiter import RateLimiter
from cryptopay_async.middleware._rate_limit import RateLimitMiddleware
from cryptopay_async.ratelimit._per_run import PerRunLimiter
from cryptopay_async.ratelimit._redis_bucket import RedisTokenBucket
from cryptopay_async.ratelimit._token_bucket import TokenBucket

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_PERIOD",
    "DEFAULT_RATE",
    "PerRunLimiter",
    "RateLimitMiddleware",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "RedisTokenBucket",
    "TokenBucket",
    "fleet_bucket_name",
    "shared_limiter",
]

DEFAULT_RATE = 200
DEFAULT_PERIOD = 60.0
# Requests reach Cryptopay a variable network delay after the limiter lets them go; a
# quarter second absorbs that spread, at the cost of 200 grants per 60.25 s, not per 60 s.
DEFAULT_MARGIN = 0.25

_shared: dict[str, PerRunLimiter] = {}
_shared_lock = threading.Lock()


def fleet_bucket_name(api_key: str) -> str:
    """The shared bucket's name for ``api_key``: a fingerprint (SHA-256), never the key."""
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:32]


def shared_limiter(api_key: str) -> PerRunLimiter:
    """The default limiter for ``api_key``: one ``TokenBucket`` per key and event loop run.

    Every client built without ``rate_limiter=`` for the same key shares it, so two
    clients in one run cannot together exceed the server's per-key limit. Each event
    loop run (a thread's ``asyncio.run``, each ``trio.run``) gets its own bucket, created
    on its first use there: a bucket belongs to one loop. Runs in parallel threads are
    paced like separate processes (a 429 pauses each run that sees one); to share the
    key's limit between them exactly, use one loop, or a ``RedisTokenBucket``.
    """
    fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
    with _shared_lock:
        limiter = _shared.get(fingerprint)
        if limiter is None:
            limiter = _shared[fingerprint] = PerRunLimiter(fingerprint, _default_bucket)
        return limiter


def _default_bucket() -> TokenBucket:
    # Read at creation, so a test may scale the defaults down.
    return TokenBucket(DEFAULT_RATE, DEFAULT_PERIOD, margin=DEFAULT_MARGIN)
