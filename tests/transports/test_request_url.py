"""Request URLs built from the parsed base URL equal what httpx parses, for any target."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async._transports._request_url import RequestURLs, fast_path_works

BASES = [
    "https://business-sandbox.cryptopay.me",
    "https://business.cryptopay.me",
    "http://127.0.0.1:8080",
    "http://[::1]:9000",
    "https://h/v1",  # a base with a path: every target is parsed
]

# Characters that shape URLs, some that httpx escapes, and a few beyond ASCII.
TARGET_CHARS = st.sampled_from([*"/?#%.:@!$&'()*+,;=-_~[]{}`\"<> \t\\^|aZ09", "é", "日"])
# Mostly characters httpx keeps as they are, so that many targets take the fast way.
KEPT_CHARS = st.sampled_from([*"/?%.:@!$&'()*+,;=-_~aZ09F", "%2F", "%20", "%e9"])
TARGETS = st.builds(
    lambda rest: "/" + rest,
    st.one_of(st.text(TARGET_CHARS, max_size=40), st.lists(KEPT_CHARS, max_size=30).map("".join)),
)


def test_the_fast_way_is_active_on_the_installed_httpx() -> None:
    # If this fails after an httpx upgrade, URLs are still right but parsed on every call.
    assert fast_path_works()
    assert isinstance(RequestURLs("https://business.cryptopay.me").url("/api/coins"), httpx.URL)


@pytest.mark.parametrize(
    ("target", "fast"),
    [
        ("/api/invoices/03692121-10b9-40bf-a79f-f9ad1f89f13d", True),
        ("/api/invoices?customer_id=a%2Fb&starting_after=x", True),
        ("/api/invoices/custom_id/ORDER%2042", True),
        ("/api/invoices/./x", False),  # httpx would drop the dot segment
        ("/api/invoices/..", False),
        ("/api/x#frag", False),
        ("/api/x y", False),  # httpx would escape the space
        ("/api/%zz", False),
    ],
)
def test_only_targets_httpx_leaves_unchanged_take_the_fast_way(target: str, fast: bool) -> None:
    built = RequestURLs("https://business.cryptopay.me").url(target)
    assert isinstance(built, httpx.URL) is fast


def test_a_base_with_a_path_is_always_parsed() -> None:
    assert RequestURLs("https://h/v1").url("/api/coins") == "https://h/v1/api/coins"


@settings(max_examples=400)
@given(base=st.sampled_from(BASES), target=TARGETS)
def test_any_target_gives_the_url_httpx_parses(base: str, target: str) -> None:
    built = RequestURLs(base).url(target)
    if isinstance(built, str):
        assert built == base + target  # handed to httpx to parse, as before
        return
    parsed = httpx.URL(base + target)
    assert built == parsed
    assert built.raw_path == parsed.raw_path
    assert (built.scheme, built.host, built.port) == (parsed.scheme, parsed.host, parsed.port)
    assert httpx.Request("GET", built).url.raw_path == parsed.raw_path
