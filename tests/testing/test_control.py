"""The /_emulator control routes: a served emulator driven over HTTP from another process."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.support import ROOT

pytestmark = pytest.mark.anyio

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


@pytest.fixture
async def sdk(served: tuple[CryptopayEmulator, str]) -> AsyncIterator[AsyncCryptopay]:
    emulator, url = served
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        yield client


async def control(url: str, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
        return await http.request(method, f"/_emulator{path}", json=body, **kw)


async def test_pay_an_invoice_exactly_partly_and_late(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    _, url = served
    outcomes = []
    for body in [None, {"amount": "0.00001"}, {"late": True}, {"amount": 0.00001}]:
        invoice = await sdk.invoices.create(
            price_amount="100", price_currency="EUR", pay_currency="BTC"
        )
        answer = await control(url, "POST", f"/invoices/{invoice.id}/pay", body)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["id"] == invoice.id
        after = await sdk.invoices.retrieve(invoice.id)
        outcomes.append((str(after.status), str(after.status_context)))
    assert outcomes == [
        ("completed", "None"),
        ("unresolved", "underpaid"),
        ("unresolved", "paid_late"),
        ("unresolved", "underpaid"),
    ]


async def test_pay_a_channel_then_read_the_payment(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    _, url = served
    channel = await sdk.channels.create(name="c", pay_currency="BTC", receiver_currency="EUR")
    answer = await control(
        url, "POST", f"/channels/{channel.id}/pay", {"amount": "0.001", "currency": "BTC"}
    )
    assert answer.status_code == 200
    payment = await sdk.channels.retrieve_payment(channel.id, answer.json()["data"]["id"])
    assert str(payment.status) == "completed"
    wrong = await control(
        url, "POST", f"/channels/{channel.id}/pay", {"amount": "0.001", "currency": "ETH"}
    )
    assert wrong.status_code == 409
    assert "takes BTC, not ETH" in wrong.json()["error"]["message"]


async def test_commit_complete_and_fail_withdrawals_and_read_the_ledger(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    _, url = served
    ids = []
    for custom_id in ("PAY-OK", "PAY-FAIL"):
        created = await sdk.coin_withdrawals.create(
            address="2Mz3",
            charged_currency="EUR",
            received_currency="BTC",
            charged_amount="20",
            custom_id=custom_id,
        )
        await sdk.coin_withdrawals.commit(created.id)
        ids.append(created.id)
    done = await control(url, "POST", f"/coin_withdrawals/{ids[0]}/complete")
    failed = await control(url, "POST", f"/coin_withdrawals/{ids[1]}/fail")
    assert (done.json()["data"]["status"], failed.json()["data"]["status"]) == (
        "completed",
        "failed",
    )
    assert done.json()["data"]["txid"]
    again = await control(url, "POST", f"/coin_withdrawals/{ids[0]}/complete")
    assert again.status_code == 409
    ledger = (await control(url, "GET", "/ledger")).json()["data"]
    assert [(e["custom_id"], e["amount"], e["currency"]) for e in ledger] == [
        ("PAY-OK", "-20.0", "EUR"),
        ("PAY-FAIL", "-20.0", "EUR"),
    ]
    assert all(e["action"] == "coin_withdrawal_sent" for e in ledger)


async def test_faults_are_replaced_and_read_back(served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served
    body = {"delay_rate": 1, "delay_seconds": 0.5, "callback_drop_rate": 0.5}
    answer = await control(url, "PUT", "/faults", {**body, "callback_duplicate_rate": 0.25})
    assert answer.status_code == 200
    assert answer.json()["data"]["delay_seconds"] == 0.5
    assert emulator.faults == Faults(
        delay_rate=1.0, delay_seconds=0.5, callback_drop_rate=0.5, callback_duplicate_rate=0.25
    )
    assert (await control(url, "GET", "/faults")).json()["data"] == answer.json()["data"]
    await control(url, "PUT", "/faults", {})
    assert emulator.faults == Faults()


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"drop_rate": 2}, "drop_rate"),
        ({"callback_drop_rate": 1.5}, "callback_drop_rate"),
        ({"drop_rate": "0.5"}, "drop_rate"),
        ({"maintenance": 1}, "maintenance"),
        ({"seed": 1.5}, "seed"),
        ({"latency": -1}, "latency"),
        ({"explode": True}, "explode"),
    ],
)
async def test_bad_faults_are_422_and_change_nothing(
    served: tuple[CryptopayEmulator, str], body: dict[str, Any], target: str
) -> None:
    emulator, url = served
    answer = await control(url, "PUT", "/faults", body)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["target"] == target
    assert emulator.faults == Faults()


async def test_clock_advance_and_reset(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    emulator, url = served
    invoice = await sdk.invoices.create(price_amount="10", price_currency="EUR", pay_currency="BTC")
    answer = await control(url, "POST", "/clock/advance", {"seconds": 601})
    assert answer.status_code == 200
    assert emulator.clock.offset == 601
    assert str((await sdk.invoices.retrieve(invoice.id)).status) == "cancelled"
    for bad in [{"seconds": -1}, {"seconds": "60"}, {}, {"seconds": 1e12}]:
        assert (await control(url, "POST", "/clock/advance", bad)).status_code == 422
    assert (await control(url, "POST", "/reset")).status_code == 200
    assert emulator.clock.offset == 0
    assert (await sdk.invoices.list()).total == 0
    assert (await control(url, "GET", "/ledger")).json()["data"] == []


@pytest.mark.parametrize(
    "path",
    [
        f"/invoices/{UNKNOWN}/pay",
        "/invoices/%2E%2E/pay",
        "/invoices/a%2Fb/pay",
        "/invoices/x%0Ay/pay",
        "/invoices/" + "9" * 5000 + "/pay",
        f"/channels/{UNKNOWN}/pay",
        f"/coin_withdrawals/{UNKNOWN}/complete",
        f"/coin_withdrawals/{UNKNOWN}/fail",
    ],
)
async def test_unknown_and_hostile_ids_are_404(
    served: tuple[CryptopayEmulator, str], path: str
) -> None:
    _, url = served
    body = {"amount": "1"} if "channels" in path else None
    answer = await control(url, "POST", path, body)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/invoices/{id}/pay", {"amount": "-1"}, 422),
        ("/invoices/{id}/pay", {"amount": "abc"}, 422),
        ("/invoices/{id}/pay", {"late": "yes"}, 422),
        ("/invoices/{id}/pay", [1, 2], 400),
        ("/clock/advance", {"seconds": True}, 422),
    ],
)
async def test_bad_control_input_is_4xx(
    served: tuple[CryptopayEmulator, str],
    sdk: AsyncCryptopay,
    path: str,
    body: Any,
    status: int,
) -> None:
    _, url = served
    invoice = await sdk.invoices.create(price_amount="10", price_currency="EUR", pay_currency="BTC")
    answer = await control(url, "POST", path.format(id=invoice.id), body)
    assert answer.status_code == status
    assert str((await sdk.invoices.retrieve(invoice.id)).status) == "new"


@pytest.mark.parametrize("client", [("10.1.2.3", 5555), ("::ffff:8.8.8.8", 1), ("testclient", 1)])
async def test_without_a_token_only_loopback_clients_may_drive_it(client: tuple[str, int]) -> None:
    emulator = CryptopayEmulator()
    transport = httpx.ASGITransport(app=emulator.asgi_app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.post("/_emulator/reset")
        ledger = await http.get("/_emulator/ledger")
    assert (answer.status_code, ledger.status_code) == (403, 403)
    assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"X-Emulator-Token": "wrong"}, 401),
        ({"Authorization": b"Bearer \xff\xfe"}, 401),
        ({"Authorization": "Bearer s3cret-token"}, 200),
        ({"X-Emulator-Token": "s3cret-token"}, 200),
    ],
)
@pytest.mark.parametrize("client", [("127.0.0.1", 5555), ("10.1.2.3", 5555)])
async def test_with_a_token_everyone_must_show_it(
    headers: dict[str, Any], status: int, client: tuple[str, int]
) -> None:
    emulator = CryptopayEmulator(control_token="s3cret-token")
    transport = httpx.ASGITransport(app=emulator.asgi_app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        answer = await http.get("/_emulator/ledger", headers=headers)
    assert answer.status_code == status


async def test_control_routes_are_not_api_routes(served: tuple[CryptopayEmulator, str]) -> None:
    _, url = served
    async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
        unknown = await http.get("/_emulator/nothing-here")
        wrong_method = await http.get("/_emulator/reset")
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    assert unknown.json()["error"]["code"] == "not_found"


async def test_webhooks_report_shows_bodies_and_answers(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    emulator, url = served
    emulator.callback_url = "http://127.0.0.1:9/unreachable"  # discard port: refused
    emulator.callback_time_scale = 1.0
    invoice = await sdk.invoices.create(price_amount="10", price_currency="EUR", pay_currency="BTC")
    report: list[dict[str, Any]] = []
    for _ in range(200):
        report = (await control(url, "GET", "/webhooks")).json()["data"]
        if report and report[0]["outcomes"]:
            break
        await anyio.sleep(0.01)
    first = report[0]
    assert (first["type"], first["event"], first["object_id"]) == ("Invoice", "created", invoice.id)
    assert first["body"].startswith('{"type":"Invoice","event":"created","data":{')
    assert first["outcomes"] == ["ConnectError"]
    assert first["delivered"] is False
    assert 0 < first["next_attempt_in"] <= 30


def test_the_emulator_still_offers_the_in_process_controls() -> None:
    emulator = CryptopayEmulator()
    with pytest.raises(Exception, match="404 not_found"):
        emulator.pay_invoice(UNKNOWN, Decimal(1))


def readme_curl_lines() -> list[list[str]]:
    guide = (ROOT / "docs" / "guides" / "testing.md").read_text()
    block = guide.split("E=$CRYPTOPAY_BASE_URL/_emulator\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


async def test_the_guide_curl_examples_work_as_written(
    served: tuple[CryptopayEmulator, str], sdk: AsyncCryptopay
) -> None:
    """Each documented ``curl`` line, sent as curl sends it (a form content type)."""
    emulator, url = served
    ids: dict[str, str] = {}
    for name in ("INVOICE_ID", "INVOICE_ID_2", "INVOICE_ID_3"):
        created = await sdk.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )
        ids[name] = created.id
    channel = await sdk.channels.create(name="c", pay_currency="BTC", receiver_currency="EUR")
    payout = await sdk.coin_withdrawals.create(
        address="2Mz3",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="10",
        force_commit=True,
    )
    lines = readme_curl_lines()
    assert len(lines) == 11
    invoices = iter(ids.values())
    async with httpx.AsyncClient(trust_env=False) as http:
        for words in lines:
            assert words[0] == "curl"
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            target = next(w for w in words if w.startswith("$E/"))
            body = words[words.index("-d") + 1] if "-d" in words else None
            path = (
                target.replace("$E", f"{url}/_emulator")
                .replace("$CHANNEL_ID", channel.id)
                .replace("$PAYOUT_ID", payout.id)
            )
            if "$INVOICE_ID" in path:
                path = path.replace("$INVOICE_ID", next(invoices))
            answer = await http.request(
                method,
                path,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {},
            )
            assert answer.status_code == 200, (words, answer.text)
    assert emulator.clock.offset == 0  # the last line reset everything
    assert emulator.ledger == []
