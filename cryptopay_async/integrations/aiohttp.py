"""aiohttp: a request handler that receives Cryptopay callbacks.

```python
app.router.add_post("/cryptopay/callbacks", callback_handler(on_callback))
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cryptopay_async.callbacks import (
    SIGNATURE_HEADER,
    CallbackReceiver,
    Deduplicator,
    DeliveryStore,
)
from cryptopay_async.callbacks._receiver import Handler, SecretSource

__all__ = ["callback_handler"]


def callback_handler(
    handler: Handler,
    *,
    secret: SecretSource = None,
    deduplicator: Deduplicator | None = None,
    store: DeliveryStore | None = None,
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

    async def receive_callback(request: web.Request) -> web.Response:
        outcome = await receiver.receive(
            await request.read(), request.headers.get(SIGNATURE_HEADER)
        )
        return web.Response(status=outcome.status, text=outcome.text)

    return receive_callback
