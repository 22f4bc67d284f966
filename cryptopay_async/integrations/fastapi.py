"""FastAPI: a router that receives Cryptopay callbacks, and a dependency for your own route.

```python
app.include_router(callback_router(on_callback, secret=lambda: client.callback_secret))
```

With ``sweeper=`` the router's lifespan also runs ``sweeper.run(every=...)``, which
catches up on callbacks that never came, and cancels it on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from cryptopay_async._extras import needs_extra

with needs_extra("fastapi", "cryptopay_async.integrations.fastapi"):
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import PlainTextResponse

from cryptopay_async._errors._exceptions import SignatureVerificationError
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
from cryptopay_async.integrations._sweeping import (
    SweeperSource,
    check_every,
    receiver_and_sweeper,
    sweeping,
)

__all__ = ["callback_router", "verified_callback"]


def callback_router(
    handler: Handler,
    *,
    path: str = "/cryptopay/callbacks",
    secret: SecretSource = None,
    deduplicator: Deduplicator | None = None,
    store: DeliveryStore | None = None,
    sweeper: SweeperSource | None = None,
    every: float = 300.0,
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
    merges it into the app's, after the app's own has started).

    ``sweeper``: a ``CallbackSweeper``, or a function returning one (called when the
    lifespan starts, after the app's own, e.g. to use the client it opened). Its
    ``sweeper.run(every=every)`` runs for the app's life and is cancelled on shutdown.
    It shares the receiver's ``Deduplicator``: pass the same one to both, or none here.

    The router's lifespan also reads the secret once: an app without one refuses to
    start with a ``ValueError`` naming ``CRYPTOPAY_CALLBACK_SECRET``, rather than
    answering every callback 500.
    """
    receiver = receiver_and_sweeper(
        handler,
        secret,
        deduplicator,
        store,
        sweeper,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    router = APIRouter(lifespan=_lifespan(secret, store, receiver, sweeper, check_every(every)))

    @router.post(path, include_in_schema=False)
    async def receive_callback(request: Request) -> PlainTextResponse:
        outcome = await receiver.receive(
            await request.body(), request.headers.get(SIGNATURE_HEADER)
        )
        return PlainTextResponse(outcome.text, status_code=outcome.status)

    return router


def _lifespan(
    secret: SecretSource,
    store: DeliveryStore | None,
    receiver: CallbackReceiver,
    sweeper: SweeperSource | None,
    every: float,
) -> Any:
    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        resolve_secret(secret)  # raises, naming the variable, when there is none
        async with AsyncExitStack() as stack:
            if isinstance(store, AbstractAsyncContextManager):
                await stack.enter_async_context(store)
            if sweeper is not None:
                await stack.enter_async_context(sweeping(receiver, sweeper, every))
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
