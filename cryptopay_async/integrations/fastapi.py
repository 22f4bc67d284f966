"""FastAPI: a router that receives Cryptopay callbacks, and a dependency for your own route.

```python
app.include_router(callback_router(on_callback, secret=lambda: client.callback_secret))
```
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from cryptopay_async._exceptions import SignatureVerificationError
from cryptopay_async.callbacks import (
    SIGNATURE_HEADER,
    Callback,
    CallbackPayloadError,
    CallbackReceiver,
    Deduplicator,
    DeliveryStore,
    verify,
)
from cryptopay_async.callbacks._receiver import Handler, SecretSource, resolve_secret

__all__ = ["callback_router", "verified_callback"]


def callback_router(
    handler: Handler,
    *,
    path: str = "/cryptopay/callbacks",
    secret: SecretSource = None,
    deduplicator: Deduplicator | None = None,
    store: DeliveryStore | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> APIRouter:
    """A router with ``POST path``: verifies, skips repeats, calls ``handler(event)`` once.

    Answers 200 once handled (or for a repeat), 400 for a bad signature or body, 500
    when ``handler`` raised, so that Cryptopay delivers the event again later.
    With the ``otel`` extra each delivery is a SERVER span ``callback {type}.{event}``
    (``tracer_provider`` / ``meter_provider``, else the global ones).
    ``store=RedisDeliveryStore(url)`` shares the processed events between workers; a
    store with a lifecycle is entered by the router's lifespan (``include_router``
    merges it into the app's).
    """
    receiver = CallbackReceiver(
        handler,
        secret=secret,
        deduplicator=deduplicator,
        store=store,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        span_kind="server",
    )
    router = APIRouter(lifespan=_lifespan_entering(store))

    @router.post(path, include_in_schema=False)
    async def receive_callback(request: Request) -> PlainTextResponse:
        outcome = await receiver.receive(
            await request.body(), request.headers.get(SIGNATURE_HEADER)
        )
        return PlainTextResponse(outcome.text, status_code=outcome.status)

    return router


def _lifespan_entering(store: DeliveryStore | None) -> Any:
    if not isinstance(store, AbstractAsyncContextManager):
        return None
    context: AbstractAsyncContextManager[Any] = store

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        async with context:
            yield

    return lifespan


def verified_callback(*, secret: SecretSource = None) -> Callable[[Request], Awaitable[Callback]]:
    """A dependency giving your route the verified, typed event, or answering 400.

    ``async def hook(event: Callback = Depends(verified_callback())) -> ...``
    """

    async def dependency(request: Request) -> Callback:
        body = await request.body()
        try:
            return verify(
                body, request.headers.get(SIGNATURE_HEADER), secret=resolve_secret(secret)
            )
        except SignatureVerificationError:
            raise HTTPException(status_code=400, detail="invalid signature") from None
        except CallbackPayloadError:
            raise HTTPException(status_code=400, detail="malformed callback") from None

    return dependency
