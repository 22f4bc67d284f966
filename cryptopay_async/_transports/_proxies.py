"""Which proxy a client goes through: ``proxy=``, else the environment, as httpx does.

A client talks to one host (its ``base_url``), so the choice is made once, at
construction, and both transports get the same answer. The environment is read by the
standard library (``urllib.request.getproxies`` and ``proxy_bypass``, which requests
uses too): ``HTTPS_PROXY`` or ``HTTP_PROXY`` by the base URL's scheme, else
``ALL_PROXY``, upper or lower case; ``NO_PROXY`` (``*``, host names, domain suffixes,
``host:port``) exempts hosts. httpx keeps its own reader private, and with the aiohttp
transport httpx's reader would route around aiohttp, hence this module.
"""

from __future__ import annotations

import urllib.request

import httpx

SCHEMES = {
    "httpx": ("http", "https", "socks5", "socks5h"),
    "aiohttp": ("http", "https"),
}


def choose_proxy(
    base_url: str, proxy: str | httpx.URL | None, *, trust_env: bool, transport: str
) -> httpx.URL | None:
    """The proxy URL to use for ``base_url``, or None to connect directly.

    ``ValueError`` for a proxy URL that is not absolute or has a scheme the transport
    cannot use; the message never shows the proxy's password.
    """
    if proxy is None:
        if not trust_env:
            return None
        proxy = _from_environment(httpx.URL(base_url))
        if proxy is None:
            return None
        where = "the environment's proxy"
    else:
        where = "proxy"
    try:
        url = httpx.URL(proxy)
    except (httpx.InvalidURL, TypeError):
        raise ValueError(f"{where} is not a valid URL") from None
    allowed = SCHEMES.get(transport, SCHEMES["httpx"])
    if url.scheme not in allowed or not url.host:
        raise ValueError(
            f"{where} {redacted(url)} is not usable with transport={transport!r}: "
            f"give an absolute URL with scheme {', '.join(allowed)}"
        )
    return url


def _from_environment(target: httpx.URL) -> str | None:
    proxies = urllib.request.getproxies()
    chosen = proxies.get(target.scheme) or proxies.get("all")
    if not chosen:
        return None
    netloc = target.netloc.decode("ascii")
    if urllib.request.proxy_bypass(netloc) or urllib.request.proxy_bypass(target.host):
        return None
    return chosen


def redacted(url: httpx.URL) -> str:
    """The URL with its password (if any) replaced by ``***``: safe for messages."""
    if url.password:
        url = url.copy_with(username=url.username, password="***")
    return str(url)
