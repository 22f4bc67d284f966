"""What a client owns at run time, and the sender that runs calls through it.

``Runtime`` holds the parts that clients derived with ``with_options`` share: the
connection pool, the limiter, the admission gate and concurrency cap, the
transport, and the answers exactly-once recovery remembers. ``ChainSender`` is one set of
settings over a runtime: the chain built once (the caller's middleware, error decoding,
retry with these settings, then the runtime's shared steps) and the per-request templates.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from types import EllipsisType
from typing import TYPE_CHECKING, Literal

import httpx

from cryptopay_async._runtime._settings import ClientSettings
from cryptopay_async._signing import CONTENT_TYPE
from cryptopay_async._transports import _pool
from cryptopay_async._transports._auto import AutoTransport
from cryptopay_async._transports._proxies import choose_proxy
from cryptopay_async._transports._request_url import RequestURLs
from cryptopay_async._version import __version__
from cryptopay_async.middleware._admission import AdmissionGate
from cryptopay_async.middleware._chain import Middleware, compose
from cryptopay_async.middleware._concurrency import ConcurrencyLimitMiddleware
from cryptopay_async.middleware._error_decoding import ErrorDecodingMiddleware
from cryptopay_async.middleware._rate_limit import RateLimitMiddleware
from cryptopay_async.middleware._retry import RetryMiddleware, RetryPolicy
from cryptopay_async.middleware._signing import SigningMiddleware
from cryptopay_async.middleware._transport import TransportEndpoint
from cryptopay_async.ratelimit import RateLimiter
from cryptopay_async.ratelimit._per_run import RunBinding
from cryptopay_async.resources._recovery import RecoveryMemory
from cryptopay_async.resources._sender import CallOptions

if TYPE_CHECKING:
    from cryptopay_async._otel._client import ClientTelemetry

USER_AGENT = f"cryptopay-async/{__version__}"


def rate_limit_step(
    rate_limiter: RateLimiter | None,
    settings: ClientSettings,
    telemetry: ClientTelemetry | None = None,
) -> RateLimitMiddleware | None:
    """The limiter's step (its waits metered with telemetry on), or None without one."""
    if rate_limiter is None:
        return None
    paced = rate_limiter if telemetry is None else telemetry.metered(rate_limiter)
    # A 429's pause is capped by the same policy as the retry step's waits.
    return RateLimitMiddleware(paced, max_pause=settings.retry_policy.max_retry_after)


class Runtime:
    """What one client and its derivatives share: pool, limiter, gates, recovery memory."""

    __slots__ = (
        "_run",
        "admission",
        "concurrency",
        "http",
        "owns_http",
        "pool",
        "rate_limit",
        "rate_limiter",
        "recovery_memory",
        "telemetry",
        "transport",
    )

    def __init__(
        self,
        settings: ClientSettings,
        *,
        rate_limiter: RateLimiter | None,
        http_client: httpx.AsyncClient | None,
        transport: Literal["auto", "httpx", "aiohttp"],
        proxy: str | httpx.URL | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        trust_env: bool = True,
        telemetry: ClientTelemetry | None = None,
    ) -> None:
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise TypeError(
                "rate_limiter must have acquire() and pause() (TokenBucket, RedisTokenBucket) "
                f"or be None, got {type(rate_limiter).__name__}"
            )
        if http_client is not None and transport not in ("auto", "httpx"):
            raise ValueError("pass either http_client or transport='aiohttp', not both")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        if http_client is not None and (proxy is not None or verify is not True):
            raise ValueError("with http_client, set proxy and verify on that httpx.AsyncClient")
        self.concurrency = ConcurrencyLimitMiddleware(settings.max_concurrency)
        self.admission = AdmissionGate(settings.max_concurrency)
        self.rate_limiter = rate_limiter
        # What exactly-once recovery keeps for a later commit (created recalculations):
        # shared by this client and its with_options derivatives, no one else.
        self.recovery_memory = RecoveryMemory()
        self.telemetry = telemetry
        self.rate_limit = rate_limit_step(rate_limiter, settings, telemetry)
        self.owns_http = http_client is None
        pool = None
        if http_client is None:
            http_client, pool = _pool.new_http_client(
                settings.max_concurrency,
                transport,
                proxy=choose_proxy(
                    settings.base_url, proxy, trust_env=trust_env, transport=transport
                ),
                ssl_context=_pool.tls_context(verify, trust_env),
            )
        self.http = http_client
        self.pool = pool
        # A pool built here is sent to directly, and is known to report when request
        # bytes start going out; a caller's client is sent through, hooks and all.
        self.transport = TransportEndpoint(http_client, pool=pool)
        self._run = RunBinding()

    def check_run(self) -> None:
        """Refuse, before anything is sent, a call from another event loop than the first.

        The pool's connections, the gates and the limiter belong to the event loop that
        first used them: from another one (a second ``asyncio.run``, then ``trio.run``)
        a request could go out and the call still fail on a closed loop, leaving a POST
        whose outcome nobody reports. One client per event loop.
        """
        self._run.check(
            "this client was first used in another event loop (asyncio.run or trio.run); "
            "create one client per event loop. Nothing was sent."
        )

    def prepare(self) -> None:
        """Do the pool's one-time work now (imports, building it), not on the first request.

        Called when the client is entered: the first request goes out right after its
        rate-limit grant instead of after that work (a grant is only as good as the
        request's promptness; a late first request squeezes the server's window).
        """
        if isinstance(self.pool, AutoTransport):
            self.pool.prepare()

    def shared_steps(
        self, settings: ClientSettings, rate_limit: RateLimitMiddleware | None
    ) -> list[Middleware]:
        """The steps after retry: the shared concurrency cap, then the limiter (if any)
        and signing of one account (``settings``' credentials)."""
        steps: list[Middleware] = [self.concurrency]
        if rate_limit is not None:
            steps.append(rate_limit)
        steps.append(SigningMiddleware(settings.api_key, settings.api_secret))
        if self.telemetry is not None:
            steps.append(self.telemetry.attempt_step())
        return steps

    async def aclose(self) -> None:
        """Close the pool, unless the caller passed it in."""
        if self.owns_http:
            await self.http.aclose()


class ChainSender:
    """A ``Sender``: admission, then the request built from templates, then the chain."""

    __slots__ = (
        "_admission",
        "_chain",
        "_extensions",
        "_headers",
        "_runtime",
        "_urls",
        "retry_policy",
        "telemetry",
    )

    retry_policy: RetryPolicy

    def __init__(
        self,
        settings: ClientSettings,
        runtime: Runtime,
        rate_limit: RateLimitMiddleware | EllipsisType | None = ...,
    ) -> None:
        """``rate_limit``: another account's limiter step (``...``: the runtime's own)."""
        limit = runtime.rate_limit if rate_limit is ... else rate_limit
        steps: list[Middleware] = [
            *settings.middleware,
            ErrorDecodingMiddleware(),
            RetryMiddleware(settings.retry_policy),
            *settings.attempt_middleware,
            *runtime.shared_steps(settings, limit),
        ]
        self._chain = compose(steps, runtime.transport)
        self._admission = runtime.admission
        self._runtime = runtime
        self._urls = RequestURLs(settings.base_url)
        self._headers = {
            "Content-Type": CONTENT_TYPE,
            "Accept": "application/json",
            "User-Agent": (
                USER_AGENT if settings.app_info is None else f"{USER_AGENT} {settings.app_info}"
            ),
        }
        self._extensions = {"timeout": settings.timeout.as_dict()}
        self.retry_policy = settings.retry_policy
        self.telemetry = runtime.telemetry

    async def send(
        self, method: str, target: str, body: bytes | None, options: CallOptions | None = None
    ) -> httpx.Response:
        self._runtime.check_run()
        extensions: dict[str, object] = dict(self._extensions)
        headers: Mapping[str, str] | httpx.Headers = self._headers
        if options is not None:
            if options.timeout is not None:
                extensions["timeout"] = options.timeout.as_dict()
            if options.headers:
                headers = httpx.Headers(self._headers)
                for name, value in options.headers:  # replaces User-Agent or Accept
                    headers[name] = value
        async with self._admission:
            request = httpx.Request(
                method,
                self._urls.url(target),
                content=body,
                headers=headers,
                extensions=extensions,
            )
            return await self._chain(request)
