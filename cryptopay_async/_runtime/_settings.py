"""A client's configuration as one immutable value; ``with_options`` derives with ``evolve``."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import httpx

from cryptopay_async._errors._messages import key_prefix
from cryptopay_async._runtime import _environment
from cryptopay_async.middleware._chain import Middleware
from cryptopay_async.middleware._retry import RetryPolicy


@attrs.frozen(kw_only=True)
class ClientSettings:
    """Credentials, where to send, how long to wait and how often to retry.

    Secrets never appear in ``repr``; the API key shows its first few characters.
    """

    api_key: str = attrs.field(repr=key_prefix)
    api_secret: str = attrs.field(repr=False)
    callback_secret: str | None = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    retry_policy: RetryPolicy
    middleware: tuple[Middleware, ...] = ()
    attempt_middleware: tuple[Middleware, ...] = ()
    max_concurrency: int = _environment.DEFAULT_MAX_CONCURRENCY

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str,
        api_secret: str,
        callback_secret: str | None,
        environment: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        middleware: Sequence[Middleware],
        max_concurrency: int,
        attempt_middleware: Sequence[Middleware] = (),
    ) -> ClientSettings:
        """The other arguments first, then the ``CRYPTOPAY_*`` environment.

        ``api_key`` and ``api_secret`` come resolved (``_environment.api_credentials``),
        so a refused setting can still show the key's prefix in the client's repr.
        ``max_retries`` overrides ``retry_policy.max_retries`` only when given.
        """
        return cls(
            api_key=api_key,
            api_secret=api_secret,
            callback_secret=_environment.callback_secret(callback_secret),
            base_url=_environment.resolve_base_url(environment, base_url),
            timeout=as_timeout(timeout),
            retry_policy=retry_policy_of(retry_policy, max_retries),
            middleware=tuple(middleware),
            attempt_middleware=tuple(attempt_middleware),
            max_concurrency=max_concurrency,
        )

    def with_options(
        self, *, timeout: float | httpx.Timeout | None, max_retries: int | None
    ) -> ClientSettings:
        """These settings with another timeout or retry count; everything else kept."""
        settings = self
        if timeout is not None:
            settings = attrs.evolve(settings, timeout=as_timeout(timeout))
        if max_retries is not None:
            policy = attrs.evolve(settings.retry_policy, max_retries=max_retries)
            settings = attrs.evolve(settings, retry_policy=policy)
        return settings


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """``timeout`` as httpx's, every part ``None`` (no limit) or a number of seconds > 0.

    NaN, zero or a negative number would fail every call (anyio refuses a NaN deadline;
    a negative one times out at once, attempt after attempt): refused here instead.
    """
    if not isinstance(timeout, httpx.Timeout | int | float | None) or isinstance(timeout, bool):
        raise TypeError(
            f"timeout must be seconds (int or float) or an httpx.Timeout, "
            f"got {type(timeout).__name__}"
        )
    result = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    for part, seconds in result.as_dict().items():
        if seconds is not None and not seconds > 0:  # also NaN
            raise ValueError(f"timeout ({part}) must be a number of seconds > 0, got {seconds!r}")
    return result


def retry_policy_of(policy: RetryPolicy | None, max_retries: int | None) -> RetryPolicy:
    """``policy`` (or the default one), its count replaced by ``max_retries`` when given."""
    policy = policy if policy is not None else RetryPolicy()
    return policy if max_retries is None else attrs.evolve(policy, max_retries=max_retries)
