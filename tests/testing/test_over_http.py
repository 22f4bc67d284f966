"""An app of ours driven entirely over HTTP: the emulator in its own OS process, the
SDK, the control routes, and a FastAPI receiver that verifies every callback."""

from __future__ import annotations

import secrets
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import Callback
from cryptopay_async.integrations.fastapi import callback_router
from tests.support import serve_asgi

pytestmark = pytest.mark.anyio

CALLBACK_SECRET = secrets.token_urlsafe(24)


class Receiver:
    """The merchant's webhook endpoint (a real FastAPI app on uvicorn)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.changed = threading.Condition()

    async def handle(self, event: Callback) -> None:
        with self.changed:
            data = event.data
            object_id = data.get("id") if isinstance(data, dict) else data.id
            self.events.append((event.type, str(event.event), str(object_id)))
            self.changed.notify_all()

    def wait_for(self, wanted: tuple[str, str, str], timeout: float = 15) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: wanted in self.events, timeout)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[dict[str, str], Receiver]]:
    receiver = Receiver()
    app = FastAPI()
    app.include_router(callback_router(receiver.handle, secret=CALLBACK_SECRET))
    with serve_asgi(app) as receiver_url:
        command = [
            sys.executable,
            "-m",
            "cryptopay_async.testing",
            "serve",
            "--port",
            "0",
            # One argument: a random secret may start with "-", which argparse would
            # otherwise read as an option.
            f"--callback-secret={CALLBACK_SECRET}",
            "--callback-url",
            f"{receiver_url}/cryptopay/callbacks",
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            try:
                assert process.stdout is not None
                words = shlex.split(process.stdout.readline())
                yield dict(word.split("=", 1) for word in words[1:]), receiver
            finally:
                process.terminate()
                process.wait(timeout=10)


def sdk(settings: dict[str, str]) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key=settings["CRYPTOPAY_API_KEY"],
        api_secret=settings["CRYPTOPAY_API_SECRET"],
        base_url=settings["CRYPTOPAY_BASE_URL"],
        rate_limiter=None,
    )


async def control(settings: dict[str, str], path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=settings["CRYPTOPAY_BASE_URL"]) as http:
        answer = await http.post(f"/_emulator{path}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def test_create_pay_by_control_route_and_receive_verified_callbacks(
    world: tuple[dict[str, str], Receiver],
) -> None:
    settings, receiver = world
    async with sdk(settings) as client:
        invoice = await client.invoices.create(
            price_amount="25", price_currency="EUR", pay_currency="BTC"
        )
        await control(settings, f"/invoices/{invoice.id}/pay")
        assert str((await client.invoices.retrieve(invoice.id)).status) == "completed"
    done = ("Invoice", "status_changed", invoice.id)
    assert await anyio.to_thread.run_sync(receiver.wait_for, done)
    mine = [(t, e) for t, e, i in receiver.events if i == invoice.id]
    assert mine == [
        ("Invoice", "created"),
        ("Invoice", "transaction_created"),
        ("Invoice", "transaction_confirmed"),
        ("Invoice", "status_changed"),
    ]


async def test_a_two_step_payout_committed_then_completed_by_control_route(
    world: tuple[dict[str, str], Receiver],
) -> None:
    settings, receiver = world
    async with sdk(settings) as client:
        created = await client.coin_withdrawals.create(
            address="2Mz3",
            charged_currency="EUR",
            received_currency="BTC",
            charged_amount="40",
            custom_id=f"PAYOUT-{secrets.token_hex(4)}",
        )
        committed = await client.coin_withdrawals.commit(created.id)
        completed = await control(settings, f"/coin_withdrawals/{created.id}/complete")
    assert (str(committed.status), completed["status"]) == ("pending", "completed")
    done = ("CoinWithdrawal", "status_changed", created.id)
    assert await anyio.to_thread.run_sync(receiver.wait_for, done)
    async with httpx.AsyncClient(base_url=settings["CRYPTOPAY_BASE_URL"]) as http:
        ledger = (await http.get("/_emulator/ledger")).json()["data"]
        report = (await http.get("/_emulator/webhooks")).json()["data"]
    assert [e["amount"] for e in ledger if e["reference_id"] == created.id] == ["-40.0"]
    assert all(d["outcomes"][-1] == "200" for d in report if d["delivered"])
