"""Transports: the connection pool a client builds (httpx's or aiohttp's), proxies, TLS and
request URLs. Below the pipeline: the transport step (``middleware/_transport``) calls them.
"""
