"""Absolute request URLs from the parsed base URL and a target, without parsing them again.

httpx parses every URL string it is given, a scan of each character for controls and
the regexes of each component, a visible share of a loopback call's CPU
(``benchmarks/RESULTS.md``, its appendix). The SDK's targets are its own, percent-encoded by
``resources/_arguments.py``, and the base URL was parsed once, at construction. For a
target made only of characters httpx leaves as they are (unreserved, sub-delims,
``:@/``, ``%XX``; ``?`` in the query) and with no segment starting with a dot (the only
ones httpx rewrites), the parsed URL is the base's with its path and query replaced,
which this builds without scanning the target again. Any other target, and any base with
a path, goes through ``httpx.URL`` as before.

httpx has no public constructor from components that skips validation, so this relies on
``httpx.URL._uri_reference`` (a ``ParseResult`` named tuple). Each client decides once, by
building one URL both ways from its base URL; if a future httpx changes the internals,
every URL is parsed again (slower, never wrong), and
``tests/transports/test_request_url.py`` fails on that httpx so the loss is seen. The same
test checks both ways agree on any target.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_TARGET = re.compile(rf"(?P<path>(?:/{_PCHAR}*)+)(?:\?(?P<query>(?:{_PCHAR}|[/?])*))?")


class RequestURLs:
    """``url(target)``: the ``httpx.URL`` of ``base_url + target``, parsed once per client."""

    __slots__ = ("_base", "_reference")

    def __init__(self, base_url: str) -> None:
        self._base = base_url
        self._reference = _checked_reference(base_url)

    def url(self, target: str) -> httpx.URL | str:
        """The parsed URL, or the string for httpx to parse when the fast way does not apply."""
        if self._reference is None or "/." in target:
            return self._base + target
        url = _from_parts(self._reference, target)
        return self._base + target if url is None else url


def _from_parts(reference: Any, target: str) -> httpx.URL | None:
    """``reference`` (a parsed base URL) with the target's path and query, or None."""
    match = _TARGET.fullmatch(target)
    if match is None:
        return None
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = reference._replace(path=match["path"], query=match["query"], fragment=None)
    return url


def _checked_reference(base: str, target: str = "/api/x?y=1") -> Any:
    """``base`` parsed, if the fast way then gives the URL httpx parses from ``base + target``.

    None when httpx's internals are not the expected ones, or when ``base`` has a path
    (the target would not start the path then).
    """
    parsed = httpx.URL(base + target)
    try:
        reference = httpx.URL(base)._uri_reference
        built = _from_parts(reference, target)
    except (AttributeError, TypeError, ValueError):
        return None
    if built is None or built != parsed or built.raw_path != parsed.raw_path:
        return None
    return reference


def fast_path_works() -> bool:
    """Whether the installed httpx builds, from components, URLs equal to parsed ones."""
    sample = ("https://business-sandbox.cryptopay.me", "/api/invoices/a%2Fb?c=d%20e&f=1")
    return _checked_reference(*sample) is not None
