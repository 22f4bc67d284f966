"""The aiohttp integration and example, served by an aiohttp AppRunner on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web
from anyio.lowlevel import checkpoint

from cryptopay_async.callbacks import SIGNATURE_HEADER
from cryptopay_async.integrations.aiohttp import callback_handler
from examples.aiohttp_app import PAID, make_app
from tests.integrations.deliveries import exercise_shop
from tests.support import serve_aiohttp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cryptopay_env")]


async def test_example_app_handles_each_callback_once_and_refuses_bad_ones() -> None:
    app = make_app()
    with serve_aiohttp(app) as url:
        statuses, order = await exercise_shop(url, "/cryptopay/callbacks")
        paid = app[PAID].copy()
    assert statuses == [200, 200, 400, 400, 400]
    assert paid == [order]


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
