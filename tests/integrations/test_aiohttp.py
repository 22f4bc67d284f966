"""The aiohttp integration and example, served by an aiohttp AppRunner on 127.0.0.1."""

from __future__ import annotations

import pytest

from examples.aiohttp_app import PAID, make_app
from tests.integrations.deliveries import exercise_shop
from tests.integrations.paid_orders import ORDERS, pay_every_way, served_emulator
from tests.support import serve_aiohttp

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
