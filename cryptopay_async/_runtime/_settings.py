"""A client's configuration as one immutable value; ``with_options`` derives with ``evolve``."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import httpx

from cryptopay_async._errors._messages import key_prefix
from cryptopay_async._runtime import _environment
from cryptopay_async.middleware._chain import Middleware
from cryptopay_async.middleware._retry import RetryPolicy
from cryptopay_async.resources._arguments import as_timeout


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
    app_info: str | None = None
    """Your application's name and version, appended to the SDK's User-Agent."""

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str,
        api_secret: str,
        callback_secret: str | Sequence[str] | None,
        environment: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        middleware: Sequence[Middleware],
        max_concurrency: int,
        app_info: str | None = None,
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
            app_info=_environment.app_info(app_info),
        )

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | Sequence[str] | None = None,
    ) -> ClientSettings:
        """These settings with another timeout, retry count or account; the rest kept.

        ``api_key`` and ``api_secret`` go together (another account); ``callback_secret``
        alone may change. Checked like the client's own (``ValueError`` naming them).
        """
        settings = self
        if (api_key is None) != (api_secret is None):
            raise ValueError("with_options takes api_key and api_secret together (another account)")
        if api_key is not None and api_secret is not None:
            if not api_key or not api_secret:
                raise ValueError("with_options: api_key and api_secret must not be empty")
            key, secret = _environment.api_credentials(api_key, api_secret)
            settings = attrs.evolve(settings, api_key=key, api_secret=secret)
        if callback_secret is not None:
            if not callback_secret:
                raise ValueError("with_options: callback_secret must not be empty")
            secrets = _environment.callback_secret(callback_secret)
            settings = attrs.evolve(settings, callback_secret=secrets)
        if timeout is not None:
            settings = attrs.evolve(settings, timeout=as_timeout(timeout))
        if max_retries is not None:
            policy = attrs.evolve(settings.retry_policy, max_retries=max_retries)
            settings = attrs.evolve(settings, retry_policy=policy)
        return settings


def retry_policy_of(policy: RetryPolicy | None, max_retries: int | None) -> RetryPolicy:
    """``policy`` (or the default one), its count replaced by ``max_retries`` when given."""
    policy = policy if policy is not None else RetryPolicy()
    return policy if max_retries is None else attrs.evolve(policy, max_retries=max_retries)
