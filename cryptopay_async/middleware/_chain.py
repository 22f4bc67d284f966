"""The middleware protocol and ``compose``: the chain every client builds once.

A middleware is any callable ``(request, call_next) -> response``. The client builds its
chain once, at construction: behind the admission gate, the caller's middleware
outermost, then error decoding, retry, the concurrency cap, rate limiting, signing, and
the transport. What the steps leave on the request and the response (the attempt
number, the parsed ``Retry-After``) is keyed in ``cryptopay_async._extensions``.
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
        handler = _Link(step, handler)
    return handler


class _Link:
    """``step`` bound to the rest of the chain.

    A plain method returning the step's coroutine, not a wrapper coroutine: one frame
    less per step and per pending call, which adds up over thousands of queued calls
    (``benchmarks/RESULTS.md``, its appendix).
    """

    __slots__ = ("call_next", "step")

    def __init__(self, step: Middleware, call_next: CallNext) -> None:
        self.step = step
        self.call_next = call_next

    def __call__(self, request: httpx.Request) -> Awaitable[httpx.Response]:
        return self.step(request, self.call_next)
