"""The middleware protocol and how a chain of steps is put together.

A middleware is any callable ``(request, call_next) -> response``. The client builds its
chain once, at construction: the caller's middleware outermost, then error decoding,
retry, the concurrency cap, rate limiting, signing, and the transport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import httpx

CallNext = Callable[[httpx.Request], Awaitable[httpx.Response]]
"""Hands the request to the rest of the chain and returns its response."""


class Middleware(Protocol):
    """One step of the request chain. Plain ``async def`` functions qualify."""

    async def __call__(self, request: httpx.Request, call_next: CallNext, /) -> httpx.Response:
        """Do something around ``await call_next(request)`` and return a response."""
        ...


def compose(middleware: Sequence[Middleware], endpoint: CallNext) -> CallNext:
    """One callable that runs ``middleware`` outermost-first and ends in ``endpoint``."""
    handler = endpoint
    for step in reversed(middleware):
        handler = _bind(step, handler)
    return handler


def _bind(step: Middleware, call_next: CallNext) -> CallNext:
    async def handler(request: httpx.Request) -> httpx.Response:
        return await step(request, call_next)

    return handler
