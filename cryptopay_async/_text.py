"""Other people's text as one bounded line, for log records and exception messages.

Ids and custom ids are merchant text, error messages and request ids are the server's:
a raw newline in them would forge a log line (``X\\nINFO forged``), and a megabyte of
it would make a megabyte exception. Requests appear by the path as sent (percent-encoded,
so ASCII without control characters); anything else goes through ``one_line``.
"""

from __future__ import annotations

import httpx

MAX_LINE = 300
"""Characters kept of one piece of untrusted text; the rest is replaced by ``...``."""


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with control characters escaped (``\\n`` as ``\\\\n``), cut to ``limit``."""
    cut = text[:limit]
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else _escape(c) for c in cut)
    if len(text) > limit or len(cut) > limit:
        return f"{cut[:limit]}..."
    return cut


def _escape(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def sent_path(request: httpx.Request) -> str:
    """The request's path exactly as it goes on the request line (percent-encoded)."""
    return one_line(request.url.raw_path.partition(b"?")[0].decode("ascii"))
