"""The FastAPI integration and example, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
import pytest
from anyio.lowlevel import checkpoint
from fastapi import Depends, FastAPI

from cryptopay_async.callbacks import Callback, RedisDeliveryStore
from cryptopay_async.integrations.fastapi import callback_router, verified_callback
from examples import fastapi_app
from tests.integrations.deliveries import completed_invoice_callback, deliver, deliver_to_each
from tests.integrations.deliveries import exercise_shop as run_shop
from tests.integrations.paid_orders import ORDERS, pay_every_way, served_emulator
from tests.support import CALLBACK_SECRET, serve_asgi

VerifiedCallback = Annotated[Callback, Depends(verified_callback(secret=CALLBACK_SECRET))]

pytestmark = pytest.mark.anyio


async def test_example_app_credits_each_paid_order_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        served_emulator(monkeypatch) as (emulator, emulator_url),
        serve_asgi(fastapi_app.app, lifespan="on") as url,
    ):
        await pay_every_way(emulator, emulator_url, url)
        paid = list(fastapi_app.app.state.paid_orders)
    assert sorted(paid) == [f"ORDER-{order}" for order in ORDERS]


@pytest.mark.usefixtures("cryptopay_env")
async def test_example_app_handles_each_callback_once_and_refuses_bad_ones() -> None:
    with serve_asgi(fastapi_app.app, lifespan="on") as url:
        statuses, order = await run_shop(url, "/cryptopay/callbacks")
        paid = list(fastapi_app.app.state.paid_orders)
    assert statuses == [200, 200, 400, 400, 400]
    assert paid == [order]  # the repeated delivery did not run the handler again


async def test_dependency_hands_over_the_typed_event_or_answers_400() -> None:
    app = FastAPI()

    @app.post("/hook")
    async def hook(event: VerifiedCallback) -> dict[str, str]:
        return {"type": event.type, "event": str(event.event)}

    body = completed_invoice_callback()
    with serve_asgi(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            good = await deliver(http, "/hook", body)
            bad = await deliver(http, "/hook", body, signature="f" * 64)
            malformed = await deliver(http, "/hook", b"[]")
    assert good.status_code == 200
    assert good.json() == {"type": "Invoice", "event": "status_changed"}
    assert (bad.status_code, bad.json()) == (400, {"detail": "invalid signature"})
    assert (malformed.status_code, malformed.json()) == (400, {"detail": "malformed callback"})


# The apps are built here, so their stores' pools belong to this test's event loop
# kind; uvicorn serves them with asyncio.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_two_workers_with_a_redis_store_handle_a_repeated_event_once(
    redis_url: str,
) -> None:
    handled: list[str] = []
    prefix = f"test:{uuid.uuid4().hex}:"

    def worker() -> FastAPI:
        async def on_callback(event: Callback) -> None:
            handled.append(str(event.event))

        app = FastAPI()
        app.include_router(
            callback_router(
                on_callback,
                secret=CALLBACK_SECRET,
                store=RedisDeliveryStore(redis_url, prefix=prefix),  # the one argument
            )
        )
        return app

    body = completed_invoice_callback()
    with (
        serve_asgi(worker(), lifespan="on") as first,
        serve_asgi(worker(), lifespan="on") as second,
    ):
        statuses = await deliver_to_each(
            [first, second, first, second], "/cryptopay/callbacks", body
        )
    assert statuses == [200, 200, 200, 200]
    assert handled == ["status_changed"]


@pytest.mark.parametrize("signature", [b"\xff\xfe", b"\xc3\xa9" * 32, b"0" * 64])
async def test_a_signature_header_of_any_bytes_is_answered_400(signature: bytes) -> None:
    app = FastAPI()
    app.include_router(callback_router(lambda event: checkpoint(), secret="s"))
    with serve_asgi(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post(
                "/cryptopay/callbacks", content=b"{}", headers={b"X-Cryptopay-Signature": signature}
            )
    assert answer.status_code == 400
    assert answer.text == "invalid signature"
