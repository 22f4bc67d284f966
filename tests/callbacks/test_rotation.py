"""Rotating the callback secret without downtime: several secrets wherever one is taken."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import httpx
import pytest
from aiohttp import web
from fastapi import Depends, FastAPI

from cryptopay_async import AsyncCryptopay, SignatureVerificationError
from cryptopay_async.callbacks import Callback, CallbackReceiver, signature_for, verify
from cryptopay_async.integrations.aiohttp import callback_handler
from cryptopay_async.integrations.fastapi import callback_router, verified_callback
from tests.integrations.deliveries import completed_invoice_callback
from tests.support import serve_aiohttp, serve_asgi

NEW, OLD, WRONG = "new-secret-2026", "old-secret-2025", "never-configured"
BODY = completed_invoice_callback()

RotatedCallback = Annotated[Callback, Depends(verified_callback(secret=[NEW, OLD]))]
SIGNED_WITH = [(NEW, True), (OLD, True), (WRONG, False), ("new-secret-2025", False)]


@pytest.mark.parametrize("secret", [[NEW, OLD], (NEW, OLD), f"{NEW},{OLD}"])
@pytest.mark.parametrize(("signer", "accepted"), SIGNED_WITH)
def test_verify_accepts_a_body_signed_with_any_configured_secret(
    secret: Any, signer: str, accepted: bool
) -> None:
    signature = signature_for(BODY, signer)
    if accepted:
        assert verify(BODY, signature, secret=secret).type == "Invoice"
        return
    with pytest.raises(SignatureVerificationError) as caught:
        verify(BODY, signature, secret=secret)
    # the same words whichever secret came closest: nothing names one
    assert str(caught.value) == (
        "X-Cryptopay-Signature does not match the body (wrong secret, or the body was changed)"
    )


@pytest.mark.parametrize("secret", [[], [""], [NEW, ""], ",", f"{NEW},", [f"{NEW},{OLD}"]])
def test_an_empty_secret_among_several_is_refused(secret: Any) -> None:
    with pytest.raises(ValueError, match="non-empty callback secret"):
        verify(BODY, signature_for(BODY, NEW), secret=secret)


@pytest.mark.anyio
@pytest.mark.parametrize(("signer", "accepted"), SIGNED_WITH)
async def test_the_receiver_takes_the_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, signer: str, accepted: bool
) -> None:
    monkeypatch.setenv("CRYPTOPAY_CALLBACK_SECRET", f"{NEW},{OLD}")
    seen: list[Callback] = []

    async def handle(event: Callback) -> None:
        seen.append(event)

    outcome = await CallbackReceiver(handle).receive(BODY, signature_for(BODY, signer))
    assert outcome.status == (200 if accepted else 400)
    assert len(seen) == int(accepted)


@pytest.mark.parametrize(("signer", "accepted"), SIGNED_WITH)
def test_the_client_verifies_with_its_callback_secrets(signer: str, accepted: bool) -> None:
    for client in (
        AsyncCryptopay(api_key="k", api_secret="s", callback_secret=[NEW, OLD]),
        AsyncCryptopay(api_key="k", api_secret="s").with_options(callback_secret=[NEW, OLD]),
    ):
        assert client.callback_secret == f"{NEW},{OLD}"
        if accepted:
            assert client.callbacks.verify(BODY, signature_for(BODY, signer)).type == "Invoice"
        else:
            with pytest.raises(SignatureVerificationError):
                client.callbacks.verify(BODY, signature_for(BODY, signer))


async def _statuses(url: str, path: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as http:
        answers = [
            await http.post(
                path, content=BODY, headers={"X-Cryptopay-Signature": signature_for(BODY, signer)}
            )
            for signer, _ in SIGNED_WITH
        ]
    return [answer.status_code for answer in answers]


EXPECTED = [200 if accepted else 400 for _, accepted in SIGNED_WITH]


@pytest.mark.anyio
async def test_both_fastapi_helpers_take_several_secrets() -> None:
    app = FastAPI()

    @app.post("/hook")
    async def hook(event: RotatedCallback) -> dict[str, str]:
        return {"type": event.type}

    async def on_callback(event: Callback) -> None:
        return None

    app.include_router(callback_router(on_callback, secret=lambda: f"{NEW},{OLD}"), prefix="/r")
    with serve_asgi(app) as url:
        assert await _statuses(url, "/hook") == EXPECTED
        assert (await _statuses(url, "/r/cryptopay/callbacks"))[0] == 200


@pytest.mark.anyio
async def test_the_aiohttp_handler_takes_several_secrets() -> None:
    handled: list[str] = []

    async def on_callback(event: Callback) -> None:
        handled.append(event.type)

    app = web.Application()
    handler: Callable[[web.Request], Awaitable[web.Response]] = callback_handler(
        on_callback, secret=[NEW, OLD]
    )
    app.router.add_post("/hook", handler)
    with serve_aiohttp(app) as url:
        statuses = await _statuses(url, "/hook")
    assert statuses == [200, 200, 400, 400]  # the old secret's delivery is a repeat: 200
    assert handled == ["Invoice"]
