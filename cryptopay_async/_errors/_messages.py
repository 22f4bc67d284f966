"""What an error's ``str()`` says: where the request went and what a person can check.

Every message is one line and bounded in length, whatever the server or the caller put
in it: server text and ids are shown through ``repr``-style escaping (no newline or
control character reaches a log line) and cut to a fixed size. Nothing here ever reads
the API secret; the API key appears only as its first characters.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from cryptopay_async import _json
from cryptopay_async._extensions import ATTEMPT, PACE

if TYPE_CHECKING:
    from cryptopay_async._errors._payload import ErrorDetail

MAX_LINE = 1000  # a whole message, whatever the server sent
MAX_TEXT = 160  # one piece of server text (message, detail, argument list)
MAX_PATH = 160
MAX_ID = 60
MAX_DETAILS = 5
MAX_LIST = 12
CLOCK_TOLERANCE = 15 * 60  # the server refuses a Date further off than this
KEY_PREFIX = 4

ENVIRONMENT_HOSTS = {
    "business-sandbox.cryptopay.me": "sandbox",
    "business.cryptopay.me": "production",
}

_SHOWN_ID = 60


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` on one line (control characters escaped), at most ``limit`` characters."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: str, limit: int = MAX_ID) -> str:
    """A caller's id as a quoted, escaped, bounded literal: ``'ORDER 42'``."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand, never sent
        return None


def where(request: httpx.Request) -> str:
    """``GET /api/invoices/ORDER%2042`` as sent: the path still percent-encoded."""
    return f"{request.method} {clip(request.url.raw_path.decode('ascii', 'replace'), MAX_PATH)}"


def host(request: httpx.Request) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port is not None and url.port != default else ""
    return clip(f"{url.host}{port}", 80)


def attempts(request: httpx.Request) -> int:
    value = request.extensions.get(ATTEMPT, 1)
    return value if isinstance(value, int) else 1


def after_attempts(request: httpx.Request) -> str:
    """``after 3 attempts to business.cryptopay.me``."""
    count = attempts(request)
    return f"after {count} attempt{'s' if count != 1 else ''} to {host(request)}"


def failure(error: BaseException) -> str:
    """``ConnectError: [Errno 111] Connection refused``: the class and the first
    non-empty text along the exception's causes, on one bounded line.

    Under trio a failed TLS handshake is a ``ConnectError('')`` caused by the
    ``SSLCertVerificationError`` that says what is wrong; that text is shown.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if str(current):
            return f"{type(error).__name__}: {clip(str(current))}"
        current = current.__cause__ or current.__context__
    return type(error).__name__


def describe_details(details: Sequence[ErrorDetail]) -> str:
    """``[currency must be included in list (list: BTC, LTC)]``: each failed rule, bounded."""
    shown = [_detail(d) for d in details[:MAX_DETAILS]]
    if len(details) > MAX_DETAILS:
        shown.append(f"+{len(details) - MAX_DETAILS} more")
    return "[" + clip("; ".join(shown), 3 * MAX_TEXT) + "]"


def _detail(detail: ErrorDetail) -> str:
    message = detail.message or detail.code
    text = f"{detail.target} {message}" if detail.target else message
    extra = [
        f"{name}: {_argument(value)}"
        for name, value in detail.args.items()
        if not _already_said(value, message)
    ]
    if extra:
        text += f" ({'; '.join(extra)})"
    return clip(text, MAX_TEXT)


def _argument(value: Any) -> str:
    if isinstance(value, list | tuple):
        items = [clip(str(item), 40) for item in value[:MAX_LIST]]
        if len(value) > MAX_LIST:
            items.append(f"+{len(value) - MAX_LIST} more")
        return ", ".join(items)
    return clip(str(value), 60)


def _already_said(value: Any, message: str) -> bool:
    """Whether the server's message already spells out this argument (``... to 5.0``)."""
    values: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    return all(str(item) in message for item in values)


def authentication_hint(request: httpx.Request, response: httpx.Response) -> str:
    """What can make a signed request fail to authenticate, most likely first."""
    checks = []
    skew = _clock_skew(request, response)
    if skew is not None and abs(skew) > CLOCK_TOLERANCE:
        side = "ahead of" if skew > 0 else "behind"
        checks.append(
            f"this machine's clock is {abs(skew) / 60:.0f} min {side} the server's "
            "(more than 15 min is refused: sync the clock)"
        )
    key = _key_prefix(request)
    environment = ENVIRONMENT_HOSTS.get(request.url.host)
    target = f"{environment} ({host(request)})" if environment else host(request)
    checks.append(f"the API key {key} exists for {target}: sandbox and production keys differ")
    checks.append("the API secret belongs to that key")
    if skew is None or abs(skew) <= CLOCK_TOLERANCE:
        checks.append("the clock is within 15 min of the server's")
    return "check: " + "; ".join(checks)


def _key_prefix(request: httpx.Request) -> str:
    auth = request.headers.get("authorization", "")
    key = auth.removeprefix("HMAC ").split(":", 1)[0] if auth.startswith("HMAC ") else ""
    return key_prefix(key) if key else "(none sent)"


def key_prefix(api_key: str) -> str:
    """An API key as shown anywhere (reprs, messages, logs): a few first characters only."""
    return quoted(api_key[: min(KEY_PREFIX, len(api_key) // 3)] + "…")


def _clock_skew(request: httpx.Request, response: httpx.Response) -> float | None:
    """Seconds this machine's ``Date`` was ahead of the server's (None if unknown)."""
    sent, answered = request.headers.get("date"), response.headers.get("date")
    if not sent or not answered:
        return None
    try:
        ours = email.utils.parsedate_to_datetime(sent)
        theirs = email.utils.parsedate_to_datetime(answered)
        return (ours - theirs).total_seconds()
    except (TypeError, ValueError, IndexError):
        return None


READ_BACK = "read it back with retrieve_by_custom_id"


def conflict_hint(request: httpx.Request, read_back: str = READ_BACK) -> str:
    """Names the ``custom_id`` the request carried and how to read the first one back.

    ``read_back`` is the advice for a Python caller; the CLI gives its own command.
    """

    if request.url.path.endswith("/commit"):
        return "it was committed before: read it back instead of committing again"
    custom_id = custom_id_of(request)
    if custom_id is None:
        return "the custom_id was used before"
    return f"custom_id {shown(custom_id)} was used before: the first request won; {read_back}"


def shown(custom_id: str) -> str:
    """A merchant id as quoted in messages: repr'd (newlines stay visible) and bounded."""
    text = repr(custom_id)
    return text if len(text) <= _SHOWN_ID else text[: _SHOWN_ID - 4] + "...'"


def custom_id_of(request: httpx.Request) -> str | None:
    """The ``custom_id`` a JSON request body carries, if any."""
    content = request.content
    if not content:
        return None
    try:
        body = _json.loads(content)
    except ValueError:
        return None
    value = body.get("custom_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def rate_limit_hint(request: httpx.Request) -> str:
    """What this client's limiter allows, beside a 429: the server's limit was reached anyway.

    The rate-limit step records the limiter's pace on the request (``PACE``); a client
    built with ``rate_limiter=None`` has no such step.
    """
    pace = request.extensions.get(PACE)
    if pace is None:
        return "this client has no rate limiter: rate_limiter=None"
    return f"this client's limiter allows {clip(str(pace), 80)}: another client shares the key?"
