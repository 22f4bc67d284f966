"""How the API checks a request before any operation runs: signature, clock skew, limit.

HMAC-SHA1 over method, body MD5, content type, ``Date`` and the path and query as sent
(written here independently of the client's ``_signing.py``);
``Date`` within 15 minutes of real time; a per-key sliding window of requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import attrs

from cryptopay_async.testing._api import ApiError

CLOCK_SKEW = timedelta(minutes=15)
# Printable ASCII only: a key or signature with other bytes cannot match (and
# ``hmac.compare_digest`` refuses non-ASCII text).
AUTHORIZATION = re.compile(r"HMAC ([!-9;-~]+):([!-~]+)")


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "unauthenticated")


@attrs.define
class Credentials:
    api_key: str
    api_secret: str
    others: dict[str, str] = attrs.field(factory=dict)
    """More accounts: api key -> api secret (``CryptopayEmulator.add_api_key``)."""

    def authenticate(
        self, method: str, body: bytes, headers: Mapping[str, str], target: str
    ) -> str:
        """The key of a correctly signed request, else a 401 ``ApiError``.

        ``headers`` are Latin-1 text as on the wire, so no header value fails to decode.
        """
        match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if not match:
            raise unauthenticated()
        secret = self.api_secret if match.group(1) == self.api_key else None
        secret = self.others.get(match.group(1), secret)
        if secret is None:
            raise unauthenticated()
        date = headers.get("date", "")
        try:
            sent_at = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            raise unauthenticated() from None
        if sent_at.tzinfo is None or abs(datetime.now(UTC) - sent_at) > CLOCK_SKEW:
            raise unauthenticated()
        content_type = headers.get("content-type", "")
        expected = signature(secret, method, body, content_type, date, target)
        if not hmac.compare_digest(expected, match.group(2).encode()):
            raise unauthenticated()
        return match.group(1)


def signature(
    api_secret: str, method: str, body: bytes, content_type: str, date: str, target: str
) -> bytes:
    """The base64 HMAC-SHA1 the server expects, written from the API's description.

    Deliberately not ``cryptopay_async._signing``: the emulator checks the client's
    signatures, so it must not share the client's code (a shared mistake would pass).
    """
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest() if body else ""
    message = "\n".join([method, digest, content_type, date, target]).encode()
    return base64.b64encode(hmac.new(api_secret.encode(), message, hashlib.sha1).digest())


class RateWindow:
    """Per-key sliding window: at most ``limit`` requests in any ``period`` seconds."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self.recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> bool:
        with self._lock:
            now = self.clock()
            log = self.recent.setdefault(key, deque())
            while log and log[0] <= now - self.period:
                log.popleft()
            if len(log) >= self.limit:
                return False
            log.append(now)
            return True

    def counts(self) -> dict[str, int]:
        """Requests admitted per key within the current window."""
        with self._lock:
            return {key: len(log) for key, log in self.recent.items()}

    def clear(self) -> None:
        with self._lock:
            self.recent.clear()
