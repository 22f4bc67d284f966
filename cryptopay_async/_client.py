"""``AsyncCryptopay``: settings, a runtime and the resources, put together.

The client is composed, not inherited: immutable ``ClientSettings``, a ``Runtime``
that owns the pool, limiter and gates, a ``ChainSender`` that runs calls through the
chain, and ``Resources`` that depend on that sender only.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import EllipsisType, TracebackType
from typing import Any, Literal, Self

import httpx

from cryptopay_async import _json, _otel, resources
from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._exceptions import APIResponseValidationError
from cryptopay_async._runtime import _environment
from cryptopay_async._runtime._raw_response import RawResources
from cryptopay_async._runtime._runtime import ChainSender, Runtime, rate_limit_step
from cryptopay_async._runtime._settings import ClientSettings
from cryptopay_async.callbacks._client import ClientCallbacks
from cryptopay_async.middleware._chain import Middleware
from cryptopay_async.middleware._retry import RetryPolicy
from cryptopay_async.ratelimit import RateLimiter
from cryptopay_async.resources._arguments import query_string, request_path


class AsyncCryptopay:
    """An async client for the Cryptopay Business API; create one and share it.

    Credentials come from the arguments or the ``CRYPTOPAY_*`` environment variables
    and are checked here, so a missing one is a ``ValueError`` at construction, never
    a 401 later. Use ``async with`` or ``await client.aclose()``; a ``http_client`` you
    pass in stays yours and is never closed by this client. ``app_info="my-shop/1.4"``
    (or ``CRYPTOPAY_APP_INFO``) is appended to the User-Agent.

    ``middleware`` runs once per call, outside the retry step: it sees the final answer
    (or the SDK's exception). ``attempt_middleware`` runs inside it, once per HTTP
    attempt, before the concurrency cap, the limiter and signing: it sees the attempt
    number in ``request.extensions[ATTEMPT]`` and, once ``call_next`` returns, the
    limiter's wait in ``request.extensions[LIMITER_WAIT]``; it meets raw answers (a 503
    that will be retried) and httpx's exceptions. With the ``otel`` extra, calls and
    attempts are traced and measured through ``tracer_provider`` and ``meter_provider``,
    else through the global ones (checked here, once: configure OpenTelemetry first).
    """

    accounts: resources.Accounts
    channels: resources.Channels
    coin_withdrawals: resources.CoinWithdrawals
    coins: resources.Coins
    customers: resources.Customers
    exchange_transfers: resources.ExchangeTransfers
    invoices: resources.Invoices
    rates: resources.Rates
    risks: resources.Risks
    subscriptions: resources.Subscriptions
    transactions: resources.Transactions
    callbacks: ClientCallbacks

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | Sequence[str] | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = _environment.DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        rate_limiter: RateLimiter | EllipsisType | None = ...,
        middleware: Sequence[Middleware] = (),
        attempt_middleware: Sequence[Middleware] = (),
        http_client: httpx.AsyncClient | None = None,
        max_concurrency: int = _environment.DEFAULT_MAX_CONCURRENCY,
        retry_policy: RetryPolicy | None = None,
        transport: Literal["auto", "httpx", "aiohttp"] = "auto",
        proxy: str | httpx.URL | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        trust_env: bool = True,
        redis_url: str | None = None,
        app_info: str | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        key, secret = _environment.api_credentials(api_key, api_secret)
        # Kept at once: a client whose other settings are refused still shows its key in
        # a traceback's repr (the settings exist only once all of them are valid).
        self._api_key = key
        settings = ClientSettings.resolve(
            api_key=key,
            api_secret=secret,
            callback_secret=callback_secret,
            environment=environment,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            middleware=middleware,
            attempt_middleware=attempt_middleware,
            max_concurrency=max_concurrency,
            app_info=app_info,
        )
        # How another account's limiter is chosen (with_options): like this one's.
        self._limiter_choice: tuple[str, str | None]
        if rate_limiter is ...:
            rate_limiter = _environment.default_limiter(settings.api_key, redis_url)
            self._limiter_choice = ("default", redis_url)
        elif redis_url is not None:
            raise ValueError("pass either rate_limiter or redis_url, not both")
        else:
            self._limiter_choice = ("none" if rate_limiter is None else "given", None)
        runtime = Runtime(
            settings,
            rate_limiter=rate_limiter,
            http_client=http_client,
            transport=transport,
            proxy=proxy,
            verify=verify,
            trust_env=trust_env,
            telemetry=_otel.client_telemetry(tracer_provider, meter_provider, settings.base_url),
        )
        self._assemble(settings, runtime, owns_runtime=True)

    def _assemble(
        self,
        settings: ClientSettings,
        runtime: Runtime,
        *,
        owns_runtime: bool,
        rate_limiter: RateLimiter | EllipsisType | None = ...,
    ) -> None:
        """Every attribute a working client uses, set here (``__init__``, ``with_options``).

        ``rate_limiter``: another account's (``...``: the runtime's own).
        """
        self._settings = settings
        self._runtime = runtime
        self._owns_runtime = owns_runtime
        self._rate_limiter = runtime.rate_limiter if rate_limiter is ... else rate_limiter
        self._sender = ChainSender(
            settings,
            runtime,
            ...
            if rate_limiter is ...
            else rate_limit_step(rate_limiter, settings, runtime.telemetry),
        )
        bound = resources.Resources(self._sender, runtime.recovery_memory)
        for name in resources.RESOURCE_NAMES:
            setattr(self, name, getattr(bound, name))
        self.callbacks = ClientCallbacks(settings.callback_secret, bound)

    @property
    def with_raw_response(self) -> RawResources:
        """The same operations, each returning an ``APIResponse``: the answer's status,
        headers, request id and timing, and ``parse()`` for the usual value.

        ``await client.with_raw_response.invoices.create(...)``; a paginated operation
        gives its first page's answer.
        """
        raw: RawResources | None = self.__dict__.get("_raw_resources")
        if raw is None:
            raw = self.__dict__["_raw_resources"] = RawResources(
                self._sender, self._runtime.recovery_memory
            )
        return raw

    @property
    def api_key(self) -> str:
        return self._settings.api_key

    @property
    def callback_secret(self) -> str | None:
        """The callback secret; several while rotating, as ``new,old``."""
        return self._settings.callback_secret

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._settings.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._settings.retry_policy

    @property
    def rate_limiter(self) -> RateLimiter | None:
        return self._rate_limiter

    def __repr__(self) -> str:
        # getattr: a debugger or traceback may show a client whose __init__ raised
        settings: ClientSettings | None = getattr(self, "_settings", None)
        api_key = settings.api_key if settings else getattr(self, "_api_key", None)
        base_url = settings.base_url if settings else None
        key = say.key_prefix(api_key) if isinstance(api_key, str) else "None"
        return f"AsyncCryptopay(base_url={base_url!r}, api_key={key})"

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | Sequence[str] | None = None,
    ) -> AsyncCryptopay:
        """A client with other settings sharing this one's connection pool.

        With ``api_key`` and ``api_secret`` it is another account on the same pool: it
        signs with those credentials and paces calls with that key's own limiter (the
        in-process default limiter of that key, or the Redis bucket named from that key
        when this client's came from ``redis_url``; none when this client has none).
        A client built with an explicit ``rate_limiter=`` cannot guess another key's:
        ``ValueError``. ``callback_secret`` verifies that account's callbacks.

        Close the original client; closing a derived one leaves the shared pool open
        (it leaves its own Redis bucket, if it entered one with ``async with``).
        """
        derived = AsyncCryptopay.__new__(AsyncCryptopay)
        settings = self._settings.with_options(
            timeout=timeout,
            max_retries=max_retries,
            api_key=api_key,
            api_secret=api_secret,
            callback_secret=callback_secret,
        )
        derived._api_key = settings.api_key
        derived._limiter_choice = self._limiter_choice
        limiter: RateLimiter | EllipsisType | None = ...
        if settings.api_key != self._settings.api_key:
            how, redis_url = self._limiter_choice
            if how == "given":
                raise ValueError(
                    "this client's rate_limiter was passed in, so the limiter of another "
                    "api_key is unknown: build a client for that key with its own rate_limiter"
                )
            limiter = (
                None if how == "none" else _environment.default_limiter(settings.api_key, redis_url)
            )
        elif settings.api_secret != self._settings.api_secret:
            raise ValueError("with_options got the same api_key with another api_secret")
        derived._assemble(settings, self._runtime, owns_runtime=False, rate_limiter=limiter)
        return derived

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
        path = request_path(path)
        qs = query_string(params or {})
        body = None if json is None else _json.dumps(json)
        separator = "&" if "?" in path else "?"
        target = f"{path}{separator}{qs}" if qs else path
        response = await self._sender.send(method.upper(), target, body)
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

    async def aclose(self) -> None:
        """Close the connection pool (unless it belongs to the caller or to the original
        client this one was derived from)."""
        if self._owns_runtime:
            await self._runtime.aclose()

    async def __aenter__(self) -> Self:
        # A limiter with a lifecycle (RedisTokenBucket's connection pool) is entered
        # here, in the task that enters the client, and left when the client closes.
        self._exit_stack = AsyncExitStack()
        self._runtime.prepare()
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
