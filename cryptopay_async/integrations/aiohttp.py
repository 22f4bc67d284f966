"""aiohttp: a request handler that receives Cryptopay callbacks.

```python
app.router.add_post("/cryptopay/callbacks", callback_handler(on_callback))
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cryptopay_async._extras import needs_extra

with needs_extra("aiohttp", "cryptopay_async.integrations.aiohttp"):
    from aiohttp import web

from cryptopay_async.callbacks import (
    SIGNATURE_HEADER,
    CallbackReceiver,
    Deduplicator,
    DeliveryStore,
)
from cryptopay_async.callbacks._receiver import Handler, SecretSource, resolve_secret

__all__ = ["callback_handler"]


def callback_handler(
    handler: Handler,
    *,
    secret: SecretSource = None,
    deduplicator: Deduplicator | None = None,
    store: DeliveryStore | None = None,
    app: web.Application | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler: verifies, skips repeats, calls ``handler(event)`` once.

    Answers 200 once handled (or for a repeat), 400 for a bad signature or body, 500
    when ``handler`` raised, so that Cryptopay delivers the event again later.
    ``store=RedisDeliveryStore(url)`` shares the processed events between workers (it
    opens a connection per delivery unless you enter it, e.g. in ``app.cleanup_ctx``).

    With ``app`` (the application the handler is added to), the secret is read once when
    the app starts, after its ``cleanup_ctx``: an app without one refuses to start with
    a ``ValueError`` naming ``CRYPTOPAY_CALLBACK_SECRET``, rather than answering every
    callback 500.
    """
    receiver = CallbackReceiver(handler, secret=secret, deduplicator=deduplicator, store=store)
    if app is not None:

        async def check_secret(app: web.Application) -> None:
            resolve_secret(secret)  # raises, naming the variable, when there is none

        app.on_startup.append(check_secret)

    async def receive_callback(request: web.Request) -> web.Response:
        outcome = await receiver.receive(
            await request.read(), request.headers.get(SIGNATURE_HEADER)
        )
        return web.Response(status=outcome.status, text=outcome.text)

    return receive_callback
