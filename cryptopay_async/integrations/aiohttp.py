"""aiohttp: a request handler that receives Cryptopay callbacks, and a route with a sweeper.

```python
app.router.add_post("/cryptopay/callbacks", callback_handler(on_callback))
# or, catching up on callbacks that never came, for the app's whole life:
dedupe = Deduplicator(store)
add_callback_route(app, on_callback, deduplicator=dedupe,
                   sweeper=lambda: CallbackSweeper(app[CLIENT], on_callback, deduplicator=dedupe))
```
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from cryptopay_async._extras import needs_extra

with needs_extra("aiohttp", "cryptopay_async.integrations.aiohttp"):
    from aiohttp import web

from cryptopay_async.callbacks import (
    SIGNATURE_HEADER,
    CallbackReceiver,
    CallbackSweeper,
    Deduplicator,
    DeliveryStore,
)
from cryptopay_async.callbacks._receiver import Handler, SecretSource, resolve_secret
from cryptopay_async.integrations._sweeping import (
    SweeperSource,
    check_every,
    receiver_and_sweeper,
    shared,
)

__all__ = ["SWEEPER", "add_callback_route", "callback_handler"]

SWEEPER = web.AppKey("cryptopay_callback_sweeper", CallbackSweeper)
"""Where ``add_callback_route`` puts the running sweeper: ``app[SWEEPER]``."""


def _endpoint(receiver: CallbackReceiver) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def receive_callback(request: web.Request) -> web.Response:
        outcome = await receiver.receive(
            await request.read(), request.headers.get(SIGNATURE_HEADER)
        )
        return web.Response(status=outcome.status, text=outcome.text)

    return receive_callback


def callback_handler(
    handler: Handler,
    *,
    secret: SecretSource = None,
    deduplicator: Deduplicator | None = None,
    store: DeliveryStore | None = None,
    app: web.Application | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler: verifies, skips repeats, calls ``handler(event)`` once.

    Answers 200 once handled (or for a repeat), 400 for a bad signature or body, 500
    when ``handler`` raised, so that Cryptopay delivers the event again later.
    With the ``otel`` extra each delivery is a SERVER span ``callback {type}.{event}``
    (``tracer_provider`` / ``meter_provider``, else the global ones).
    ``store=RedisDeliveryStore(url)`` shares the processed events between workers (it
    opens a connection per delivery unless you enter it, e.g. in ``app.cleanup_ctx``).

    With ``app`` (the application the handler is added to), the secret is read once when
    the app starts, after its ``cleanup_ctx``: an app without one refuses to start with
    a ``ValueError`` naming ``CRYPTOPAY_CALLBACK_SECRET``, rather than answering every
    callback 500.
    """
    receiver = receiver_and_sweeper(
        handler,
        secret,
        deduplicator,
        store,
        None,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    if app is not None:
        _refuse_to_start_without(secret, app)
    return _endpoint(receiver)


def _refuse_to_start_without(secret: SecretSource, app: web.Application) -> None:
    """Read the secret once when ``app`` starts: none is a ``ValueError`` naming the variable."""

    async def check_secret(app: web.Application) -> None:
        resolve_secret(secret)

    app.on_startup.append(check_secret)


def add_callback_route(
    app: web.Application,
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
) -> None:
    """``POST path`` as ``callback_handler`` answers it, plus the app's background sweep.

    ``sweeper``: a ``CallbackSweeper``, or a function returning one, called in the
    app's ``cleanup_ctx`` after the contexts added before this call (e.g. the one
    opening your client). ``sweeper.run(every=every)`` runs in an asyncio task for the
    app's life and is cancelled (and awaited) on cleanup. The receiver and the sweeper
    share one ``Deduplicator``: pass the same one to both, or none here. As with
    ``callback_handler(..., app=app)``, an app without a callback secret refuses to start.
    ``tracer_provider`` / ``meter_provider``: as for ``callback_handler``.
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
    every = check_every(every)
    _refuse_to_start_without(secret, app)
    app.router.add_post(path, _endpoint(receiver))
    if sweeper is None:
        return
    source = sweeper

    async def background(app: web.Application) -> AsyncIterator[None]:
        # aiohttp starts and cleans up a context in different tasks, so no task group
        # can span the app's life: a plain asyncio task (aiohttp runs on asyncio only).
        running = source if isinstance(source, CallbackSweeper) else source()
        shared(receiver, running)
        app[SWEEPER] = running
        task = asyncio.get_running_loop().create_task(running.run(every))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(background)
