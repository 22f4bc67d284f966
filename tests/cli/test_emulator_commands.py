"""``cryptopay emulator ...`` commands drive a served emulator through its control routes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from cryptopay_async.cli import app
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from cryptopay_async.testing._server import free_port


@pytest.fixture
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000, control_token="t0ken")
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


def cryptopay(url: str | None, *args: str, token: str | None = "t0ken") -> tuple[int, Any, str]:
    env = {
        "COLUMNS": "200",
        "CRYPTOPAY_BASE_URL": url or "",
        "CRYPTOPAY_EMULATOR_TOKEN": token or "",
    }
    result = CliRunner().invoke(app, ["emulator", *args], env=env)
    data = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


def invoice(emulator: CryptopayEmulator) -> dict[str, Any]:
    body = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}
    created, _ = emulator.api.call("invoices.create", {}, {}, body)
    return dict(created)


@pytest.mark.parametrize(
    ("options", "status", "context"),
    [
        ([], "completed", None),
        (["--amount", "0.00000001"], "unresolved", "underpaid"),
        (["--late"], "unresolved", "paid_late"),
    ],
)
def test_pay_invoice(
    served: tuple[CryptopayEmulator, str], options: list[str], status: str, context: str | None
) -> None:
    emulator, url = served
    created = invoice(emulator)
    code, data, _ = cryptopay(url, "pay-invoice", created["id"], *options)
    assert code == 0
    assert (data["status"], data["status_context"]) == (status, context)


def test_pay_channel_and_withdrawals(served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served
    body = {"name": "c", "pay_currency": "BTC", "receiver_currency": "EUR"}
    channel, _ = emulator.api.call("channels.create", {}, {}, body)
    code, payment, _ = cryptopay(url, "pay-channel", channel["id"], "--amount", "0.001")
    assert (code, payment["status"]) == (0, "completed")
    ids = []
    for _ in range(2):
        payout = {
            "address": "2Mz3",
            "charged_currency": "EUR",
            "received_currency": "BTC",
            "charged_amount": "10",
            "force_commit": True,
        }
        created, _ = emulator.api.call("coin_withdrawals.create", {}, {}, payout)
        ids.append(created["id"])
    assert cryptopay(url, "complete-withdrawal", ids[0])[1]["status"] == "completed"
    assert cryptopay(url, "fail-withdrawal", ids[1])[1]["status"] == "failed"
    code, ledger, _ = cryptopay(url, "ledger")
    assert [(e["action"], Decimal(e["amount"])) for e in ledger][-2:] == [
        ("coin_withdrawal_sent", Decimal(-10)),
        ("coin_withdrawal_sent", Decimal(-10)),
    ]


def test_clock_faults_webhooks_and_reset(served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served
    created = invoice(emulator)
    code, _, _ = cryptopay(url, "advance-clock", "600")
    assert code == 0
    assert emulator.api.objects["invoices"][created["id"]]["status"] == "cancelled"
    code, faults, _ = cryptopay(url, "faults", "--delay-rate", "0.5", "--delay-seconds", "2")
    assert code == 0
    assert emulator.faults == Faults(delay_rate=0.5, delay_seconds=2.0)
    assert cryptopay(url, "faults")[1] == faults
    assert cryptopay(url, "webhooks")[1] == []  # no callback_url: nothing queued
    assert cryptopay(url, "reset")[0] == 0
    assert emulator.api.objects["invoices"] == {}
    assert emulator.faults == Faults()


@pytest.mark.parametrize(
    ("args", "token", "code", "message"),
    [
        (["pay-invoice", "00000000-0000-4000-8000-000000000000"], "t0ken", 3, "404 not_found"),
        (["complete-withdrawal", "../../reset"], "t0ken", 3, "404 not_found"),
        (["ledger"], None, 3, "401 unauthenticated"),
        (["faults", "--drop-rate", "3"], "t0ken", 3, "drop_rate must be between 0 and 1"),
        (
            ["faults", "--callback-drop-rate", "2"],
            "t0ken",
            3,
            "callback_drop_rate must be between 0 and 1",
        ),
    ],
)
def test_errors_name_the_problem(
    served: tuple[CryptopayEmulator, str],
    args: list[str],
    token: str | None,
    code: int,
    message: str,
) -> None:
    _, url = served
    exit_code, _, stderr = cryptopay(url, *args, token=token)
    assert exit_code == code
    assert message in stderr


def test_no_url_is_a_usage_error_and_no_server_a_network_error() -> None:
    assert cryptopay(None, "ledger")[0] == 2
    exit_code, _, stderr = cryptopay(f"http://127.0.0.1:{free_port()}", "ledger")
    assert exit_code == 4
    assert "cannot reach the emulator" in stderr


def test_as_a_process_with_the_exported_settings(served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served
    created = invoice(emulator)
    env = {**os.environ, "CRYPTOPAY_BASE_URL": url, "CRYPTOPAY_EMULATOR_TOKEN": "t0ken"}
    done = subprocess.run(
        [sys.executable, "-m", "cryptopay_async", "emulator", "pay-invoice", created["id"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
