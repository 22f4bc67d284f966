"""Where settings come from: the arguments, then the ``CRYPTOPAY_*`` environment variables.

Every credential and every ``CRYPTOPAY_*`` variable is read here, with the same checks
wherever it is used (the client, the callback receiver, the CLI).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence

import httpx

from cryptopay_async.ratelimit import RateLimiter

ENVIRONMENTS: dict[str, str] = {
    "sandbox": "https://business-sandbox.cryptopay.me",
    "production": "https://business.cryptopay.me",
}

ENV_API_KEY = "CRYPTOPAY_API_KEY"
ENV_API_SECRET = "CRYPTOPAY_API_SECRET"
ENV_CALLBACK_SECRET = "CRYPTOPAY_CALLBACK_SECRET"
ENV_ENVIRONMENT = "CRYPTOPAY_ENVIRONMENT"
ENV_BASE_URL = "CRYPTOPAY_BASE_URL"
ENV_REDIS_URL = "CRYPTOPAY_REDIS_URL"
ENV_APP_INFO = "CRYPTOPAY_APP_INFO"
MAX_APP_INFO = 200

DEFAULT_TIMEOUT = 30.0
# httpcore scans every pooled connection on each request, so a small pool with a
# queue in front of it beats a large pool under load (benchmarks/ and the
# performance notes: 500 concurrent calls collapse with the default pool).
DEFAULT_MAX_CONCURRENCY = 16


def credential(value: str | None, argument: str, env_var: str, *, required: bool) -> str | None:
    """The argument, else the environment variable; ``ValueError`` when required and absent."""
    if value is None:
        value = os.environ.get(env_var)
    if value is None or value == "":
        if required:
            raise ValueError(
                f"{argument} is missing: pass {argument}=... to AsyncCryptopay "
                f"or set the {env_var} environment variable"
            )
        return None
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, got {type(value).__name__}")
    if value != value.strip() or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{argument} contains whitespace or control characters")
    # Keys and secrets are ASCII tokens; anything else could not be put in a header or
    # HMAC'd the way the server does, and would fail untyped at the first request.
    if not value.isascii():
        raise ValueError(f"{argument} contains characters outside printable ASCII")
    return value


def api_credentials(api_key: str | None, api_secret: str | None) -> tuple[str, str]:
    """The API key and secret: arguments, else ``CRYPTOPAY_API_KEY`` / ``_SECRET``."""
    key = credential(api_key, "api_key", ENV_API_KEY, required=True)
    secret = credential(api_secret, "api_secret", ENV_API_SECRET, required=True)
    assert key is not None
    assert secret is not None
    return key, secret


def callback_secret(value: str | Sequence[str] | None) -> str | None:
    """The callback secret: the argument, else ``CRYPTOPAY_CALLBACK_SECRET``, or None.

    The one reading of that secret, for the client, the receiver and the integrations.
    Several secrets (while rotating: ``[new, old]``, or ``"new,old"`` in the variable)
    come back joined by commas, each checked like one; a secret never contains a comma.
    """
    if value is None or isinstance(value, str):
        joined = credential(value, "callback_secret", ENV_CALLBACK_SECRET, required=False)
        parts = [] if joined is None else joined.split(",")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        parts = list(value)
        if not parts:
            raise ValueError("callback_secret is an empty list: give at least one secret")
    else:
        raise TypeError(
            f"callback_secret must be a str or a list of str, got {type(value).__name__}"
        )
    for one in parts:
        if not isinstance(one, str):
            raise TypeError(
                f"callback_secret must be a str or a list of str, got {type(one).__name__} in it"
            )
        if not one or "," in one:
            raise ValueError(
                "callback_secret has an empty secret (several are separated by commas)"
            )
        credential(one, "callback_secret", ENV_CALLBACK_SECRET, required=True)
    return ",".join(parts) or None


def app_info(value: str | None) -> str | None:
    """``app_info`` (argument, else ``CRYPTOPAY_APP_INFO``): appended to the User-Agent.

    Printable ASCII of at most 200 characters: a control character could end the header
    and start another (header injection), and a long one bloats every request.
    """
    if value is None:
        value = os.environ.get(ENV_APP_INFO) or None
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"app_info must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("app_info is empty: name your application, e.g. 'my-shop/1.4'")
    if len(value) > MAX_APP_INFO:
        raise ValueError(f"app_info is {len(value)} characters long, at most {MAX_APP_INFO}")
    if any(ord(ch) < 0x20 or ord(ch) >= 0x7F for ch in value):
        raise ValueError(
            "app_info must be printable ASCII (no control characters: it goes in the "
            f"User-Agent header), got {value[:40]!r}"
        )
    return value.strip()


def resolve_base_url(environment: str | None, base_url: str | None) -> str:
    """``base_url`` (argument or env) wins over ``environment``; returns it without a trailing /."""
    env_name = environment if environment is not None else os.environ.get(ENV_ENVIRONMENT)
    env_name = env_name or "sandbox"
    if env_name not in ENVIRONMENTS:
        valid = ", ".join(repr(name) for name in ENVIRONMENTS)
        raise ValueError(f"unknown environment {env_name!r}: valid values are {valid}")
    url = base_url if base_url is not None else os.environ.get(ENV_BASE_URL)
    if not url:
        return ENVIRONMENTS[env_name]
    name = "base_url" if base_url is not None else ENV_BASE_URL  # what the caller set
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str, got {type(url).__name__}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{name} {url!r} is not a valid URL: {exc}") from None
    if parsed.userinfo:
        # httpx would send them as Basic auth in place of the signed Authorization header;
        # and a secret must not reach messages or repr(): the URL is not echoed.
        raise ValueError(f"{name} must not carry a user name or password")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if not _valid_host(parsed.raw_host.decode("ascii")):
        raise ValueError(f"{name} has no valid host name or IP address, got {url!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"{name} has port {parsed.port}, not 1 to 65535: got {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"{name} must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")  # _: container names


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name (httpx has made an IDN its ``xn--`` form already).

    httpx accepts a host it would only fail to connect to at the first request (a
    space, percent-encoded bytes): this turns them into an error at construction.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    return True


def default_limiter(api_key: str, redis_url: str | None) -> RateLimiter:
    """The limiter of a client built without ``rate_limiter=``.

    With ``redis_url`` (or ``CRYPTOPAY_REDIS_URL``) a ``RedisTokenBucket`` named from
    the key's fingerprint, so every process and machine of a fleet shares the key's
    limit; otherwise the in-process limiter shared by the clients of this process.
    """
    from cryptopay_async.ratelimit import (
        DEFAULT_MARGIN,
        RedisTokenBucket,
        fleet_bucket_name,
        shared_limiter,
    )

    url = redis_url if redis_url is not None else os.environ.get(ENV_REDIS_URL)
    if not url:
        return shared_limiter(api_key)
    return RedisTokenBucket(url, name=fleet_bucket_name(api_key), margin=DEFAULT_MARGIN)
