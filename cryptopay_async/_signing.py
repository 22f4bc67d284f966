"""Request signing exactly as the Cryptopay API verifies it.

The client signs with this module; the emulator verifies with its own implementation
(``testing/_protocol.py``), so a mistake here cannot hide behind the same mistake there.
Both are checked against the API's published test vectors (``tests/test_signing.py``).

``Authorization: HMAC <key>:<base64(HMAC-SHA1(secret, string_to_sign))>`` where the
string to sign is five LF-joined lines: method, MD5 of the body (empty when there is
no body), content type, the ``Date`` header, and the request target as sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

CONTENT_TYPE = "application/json"


def string_to_sign(method: str, body: bytes, date: str, target: str) -> str:
    """The five lines the server recomputes; ``target`` is path plus ``?query`` as sent."""
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest() if body else ""
    return f"{method.upper()}\n{digest}\n{CONTENT_TYPE}\n{date}\n{target}"


def sign(api_secret: str, method: str, body: bytes, date: str, target: str) -> str:
    """The 28-character base64 signature for one request."""
    message = string_to_sign(method, body, date, target).encode()
    return base64.b64encode(hmac.digest(api_secret.encode(), message, "sha1")).decode("ascii")


class _HttpDateClock:
    """IMF-fixdate of the current second, formatted once per second, not per request.

    Formatting the date is a large share of signing (``benchmarks/RESULTS.md``, its appendix).
    """

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text = formatdate(second, usegmt=True)
            self._second = second
        return self._text


http_date = _HttpDateClock().now
