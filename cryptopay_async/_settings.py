"""A client's configuration as one immutable value; ``with_options`` derives with ``evolve``."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import httpx

from cryptopay_async import _config
from cryptopay_async.middleware._chain import Middleware
from cryptopay_async.middleware._retry import RetryPolicy


def _key_prefix(api_key: str) -> str:
    return f"{api_key[:4]!r}..."


@attrs.frozen(kw_only=True)
class ClientSettings:
    """Credentials, where to send, how long to wait and how often to retry.

    Secrets never appear in ``repr``; the API key shows its first four characters.
    """

    api_key: str = attrs.field(repr=_key_prefix)
    api_secret: str = attrs.field(repr=False)
    callback_secret: str | None = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    retry_policy: RetryPolicy
    middleware: tuple[Middleware, ...] = ()
    max_concurrency: int = _config.DEFAULT_MAX_CONCURRENCY
    app_info: str | None = None
    """Your application's name and version, appended to the SDK's User-Agent."""

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        api_secret: str | None,
        callback_secret: str | None,
        environment: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        middleware: Sequence[Middleware],
        max_concurrency: int,
        app_info: str | None = None,
    ) -> ClientSettings:
        """Arguments first, then the ``CRYPTOPAY_*`` environment; ``ValueError`` naming
        the argument and the variable when a credential is missing or malformed."""
        key = _config.credential(api_key, "api_key", _config.ENV_API_KEY, required=True)
        secret = _config.credential(api_secret, "api_secret", _config.ENV_API_SECRET, required=True)
        assert key is not None
        assert secret is not None
        return cls(
            api_key=key,
            api_secret=secret,
            callback_secret=_config.credential(
                callback_secret, "callback_secret", _config.ENV_CALLBACK_SECRET, required=False
            ),
            base_url=_config.resolve_base_url(environment, base_url),
            timeout=as_timeout(timeout),
            retry_policy=attrs.evolve(retry_policy or RetryPolicy(), max_retries=max_retries),
            middleware=tuple(middleware),
            max_concurrency=max_concurrency,
            app_info=_config.app_info(app_info),
        )

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        api_key: str | None = None,
        api_secret: str | None = None,
        callback_secret: str | None = None,
    ) -> ClientSettings:
        """These settings with another timeout, retry count or account; the rest kept.

        ``api_key`` and ``api_secret`` go together (another account); ``callback_secret``
        alone may change. Checked like the client's own (``ValueError`` naming them).
        """
        settings = self
        if (api_key is None) != (api_secret is None):
            raise ValueError("with_options takes api_key and api_secret together (another account)")
        if api_key is not None:
            key = _config.credential(api_key, "api_key", _config.ENV_API_KEY, required=True)
            secret = _config.credential(
                api_secret, "api_secret", _config.ENV_API_SECRET, required=True
            )
            assert key is not None
            assert secret is not None
            settings = attrs.evolve(settings, api_key=key, api_secret=secret)
        if callback_secret is not None:
            _config.credential(callback_secret, "callback_secret", "-", required=False)
            settings = attrs.evolve(settings, callback_secret=callback_secret)
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
