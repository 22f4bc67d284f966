"""``AsyncCryptopay``: configuration, the request chain, and the resources hanging off it."""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import EllipsisType, TracebackType
from typing import Any, Literal, Self

import attrs
import httpx

from cryptopay_async import _config, _json
from cryptopay_async import _error_messages as say
from cryptopay_async._exceptions import APIResponseValidationError
from cryptopay_async._proxies import choose_proxy
from cryptopay_async._signing import CONTENT_TYPE
from cryptopay_async._version import __version__
from cryptopay_async.callbacks._client import ClientCallbacks
from cryptopay_async.middleware._admission import AdmissionGate
from cryptopay_async.middleware._chain import CallNext, Middleware, compose
from cryptopay_async.middleware._concurrency import ConcurrencyLimitMiddleware
from cryptopay_async.middleware._error_decoding import ErrorDecodingMiddleware
from cryptopay_async.middleware._rate_limit import RateLimitMiddleware
from cryptopay_async.middleware._retry import RetryMiddleware, RetryPolicy
from cryptopay_async.middleware._signing import SigningMiddleware
from cryptopay_async.middleware._transport import TransportEndpoint
from cryptopay_async.ratelimit import RateLimiter
from cryptopay_async.resources import Resources

USER_AGENT = f"cryptopay-async/{__version__}"


class AsyncCryptopay(Resources):
    """An async client for the Cryptopay Business API; create one and share it.

    Credentials come from the arguments or the ``CRYPTOPAY_*`` environment variables
    and are checked here, so a missing one is a ``ValueError`` at construction, never
    a 401 later. Use ``async with`` or ``await client.aclose()``; a ``http_client`` you
    pass in stays yours and is never closed by this client.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = _config.DEFAULT_TIMEOUT,
        max_retries: int = 2,
        rate_limiter: RateLimiter | EllipsisType | None = ...,
        middleware: Sequence[Middleware] = (),
        http_client: httpx.AsyncClient | None = None,
        max_concurrency: int = _config.DEFAULT_MAX_CONCURRENCY,
        retry_policy: RetryPolicy | None = None,
        transport: Literal["httpx", "aiohttp"] = "httpx",
        proxy: str | httpx.URL | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        trust_env: bool = True,
        redis_url: str | None = None,
    ) -> None:
        key = _config.credential(api_key, "api_key", _config.ENV_API_KEY, required=True)
        secret = _config.credential(api_secret, "api_secret", _config.ENV_API_SECRET, required=True)
        assert key is not None
        assert secret is not None
        self._api_key = key
        self._callback_secret = _config.credential(
            callback_secret, "callback_secret", _config.ENV_CALLBACK_SECRET, required=False
        )
        self.base_url = _config.resolve_base_url(environment, base_url)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        if rate_limiter is ...:
            rate_limiter = _config.default_limiter(key, redis_url)
        elif redis_url is not None:
            raise ValueError("pass either rate_limiter or redis_url, not both")
        self.rate_limiter: RateLimiter | None = rate_limiter
        self._middleware = tuple(middleware)
        self._owns_http_client = http_client is None
        if http_client is not None and transport != "httpx":
            raise ValueError("pass either http_client or transport='aiohttp', not both")
        if http_client is not None and (proxy is not None or verify is not True):
            raise ValueError("with http_client, set proxy and verify on that httpx.AsyncClient")
        if http_client is None:
            http_client = _config.new_http_client(
                max_concurrency,
                transport,
                proxy=choose_proxy(self.base_url, proxy, trust_env=trust_env, transport=transport),
                ssl_context=_config.tls_context(verify, trust_env),
            )
        self._http = http_client
        self._transport = TransportEndpoint(http_client)
        self._concurrency = ConcurrencyLimitMiddleware(max_concurrency)
        self._admission = AdmissionGate(max_concurrency)
        self._signing = SigningMiddleware(key, secret)
        self._rate_limit = None if rate_limiter is None else RateLimitMiddleware(rate_limiter)
        self.retry_policy = attrs.evolve(retry_policy or RetryPolicy(), max_retries=max_retries)
        self._setup()

    def _setup(self) -> None:
        """Build the chain and the per-request templates once; called again by ``with_options``."""
        steps: list[Middleware] = [
            *self._middleware,
            ErrorDecodingMiddleware(),
            RetryMiddleware(self.retry_policy),
            self._concurrency,
        ]
        if self._rate_limit is not None:
            steps.append(self._rate_limit)
        steps.append(self._signing)
        self._chain: CallNext = compose(steps, self._transport)
        self._headers = {
            "Content-Type": CONTENT_TYPE,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._extensions = {"timeout": self._timeout.as_dict()}
        self._bind_resources(self)
        self.callbacks = ClientCallbacks(self)

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def callback_secret(self) -> str | None:
        return self._callback_secret

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    def __repr__(self) -> str:
        # getattr: a debugger or traceback may show a client whose __init__ raised
        base_url = getattr(self, "base_url", None)
        key = getattr(self, "_api_key", None)
        shown = f"{key[:4]!r}..." if isinstance(key, str) else "None"
        return f"AsyncCryptopay(base_url={base_url!r}, api_key={shown})"

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
    ) -> AsyncCryptopay:
        """A client with other settings sharing this one's pool, limiter and credentials.

        Close the original client; closing a derived one leaves the shared pool open.
        """
        clone = object.__new__(AsyncCryptopay)
        clone.__dict__.update(self.__dict__)
        clone._owns_http_client = False
        if timeout is not None:
            clone._timeout = (
                timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
            )
        if max_retries is not None:
            clone.retry_policy = attrs.evolve(self.retry_policy, max_retries=max_retries)
        clone._setup()
        return clone

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Call any endpoint through the full chain; returns the decoded JSON body.

        An escape hatch for endpoints this release does not model. ``path`` is the
        already-encoded path (``/api/...``); ``None`` is returned for 204 No Content.
        """
        from cryptopay_async._arguments import query_string, request_path

        path = request_path(path)
        qs = query_string(params or {})
        body = None if json is None else _json.dumps(json)
        separator = "&" if "?" in path else "?"
        response = await self._send(method.upper(), f"{path}{separator}{qs}" if qs else path, body)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return _json.loads(response.content)
        except ValueError:
            raise APIResponseValidationError(
                f"{say.where(response.request)} answered {response.status_code} with a body "
                f"that is not JSON: {response.content[:80]!r}",
                response=response,
            ) from None

    async def _send(self, method: str, target: str, body: bytes | None) -> httpx.Response:
        async with self._admission:
            request = httpx.Request(
                method,
                self.base_url + target,
                content=body,
                headers=self._headers,
                extensions=dict(self._extensions),
            )
            return await self._chain(request)

    async def aclose(self) -> None:
        """Close the connection pool (unless it belongs to the caller)."""
        if self._owns_http_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        # A limiter with a lifecycle (RedisTokenBucket's connection pool) is entered
        # here, in the task that enters the client, and left when the client closes.
        self._exit_stack = AsyncExitStack()
        if isinstance(self.rate_limiter, AbstractAsyncContextManager):
            await self._exit_stack.enter_async_context(self.rate_limiter)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._exit_stack.aclose()
        finally:
            await self.aclose()
