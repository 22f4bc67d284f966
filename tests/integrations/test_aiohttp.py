"""The aiohttp integration and example, served by an aiohttp AppRunner on 127.0.0.1."""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiohttp import web
from anyio.lowlevel import checkpoint

from cryptopay_async.callbacks import SIGNATURE_HEADER, Callback, RedisDeliveryStore
from cryptopay_async.integrations.aiohttp import callback_handler
from examples.aiohttp_app import PAID, make_app
from tests.integrations.deliveries import (
    completed_invoice_callback,
    deliver_to_each,
    exercise_shop,
)
from tests.integrations.paid_orders import ORDERS, pay_every_way, served_emulator
from tests.support import CALLBACK_SECRET, serve_aiohttp

pytestmark = pytest.mark.anyio


async def test_example_app_credits_each_paid_order_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with served_emulator(monkeypatch) as (emulator, emulator_url):
        app = make_app()
        with serve_aiohttp(app) as url:
            await pay_every_way(emulator, emulator_url, url)
            paid = app[PAID].copy()
    assert sorted(paid) == [f"ORDER-{order}" for order in ORDERS]


@pytest.mark.usefixtures("cryptopay_env")
async def test_example_app_handles_each_callback_once_and_refuses_bad_ones() -> None:
    app = make_app()
    with serve_aiohttp(app) as url:
        statuses, order = await exercise_shop(url, "/cryptopay/callbacks")
        paid = app[PAID].copy()
    assert statuses == [200, 200, 400, 400, 400]
    assert paid == [order]


async def test_two_workers_with_a_redis_store_handle_a_repeated_event_once(
    redis_url: str,
) -> None:
    handled: list[str] = []
    prefix = f"test:{uuid.uuid4().hex}:"

    def worker() -> web.Application:
        async def on_callback(event: Callback) -> None:
            handled.append(str(event.event))

        app = web.Application()
        store = RedisDeliveryStore(redis_url, prefix=prefix)  # a connection per delivery
        app.router.add_post(
            "/cryptopay/callbacks",
            callback_handler(on_callback, secret=CALLBACK_SECRET, store=store),
        )
        return app

    body = completed_invoice_callback()
    with serve_aiohttp(worker()) as first, serve_aiohttp(worker()) as second:
        statuses = await deliver_to_each(
            [first, second, first, second], "/cryptopay/callbacks", body
        )
    assert statuses == [200, 200, 200, 200]
    assert handled == ["status_changed"]


@pytest.mark.parametrize("signature", [b"\xff\xfe", b"\xc3\xa9" * 32, b"0" * 64])
async def test_a_signature_header_of_any_bytes_is_answered_400(signature: bytes) -> None:
    app = web.Application()
    app.router.add_post("/callbacks", callback_handler(lambda event: checkpoint(), secret="s"))
    with serve_aiohttp(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post(
                "/callbacks", content=b"{}", headers={SIGNATURE_HEADER.encode(): signature}
            )
    assert answer.status_code == 400
    assert answer.text == "invalid signature"
