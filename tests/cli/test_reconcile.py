"""``cryptopay reconcile`` against a served emulator: every difference is one labelled row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cryptopay_async.cli import app
from cryptopay_async.cli._reconcile import parse_since
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread


@pytest.fixture
def shop() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """A served emulator with paid, unpaid and channel-paid objects; url and id -> invoice."""
    emulator = CryptopayEmulator(rate_limit=100_000)
    body = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}
    made: dict[str, dict[str, str]] = {}
    for name in ("A", "B", "C", "UNPAID"):
        invoice, _ = emulator.api.call("invoices.create", {}, {}, {**body, "custom_id": name})
        if name != "UNPAID":
            emulator.pay_invoice(invoice["id"])
        made[name] = invoice
    channel_body = {"name": "d", "pay_currency": "BTC", "receiver_currency": "EUR"}
    channel, _ = emulator.api.call("channels.create", {}, {}, channel_body)
    made["PAYMENT"] = emulator.pay_channel(channel["id"], "0.001")
    with serve_in_thread(emulator.asgi_app) as url:
        env = {
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
        }
        yield url, {**made, "env": env}


def reconcile(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["reconcile", *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_matching_credits_exit_0(
    shop: tuple[str, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    made = shop[1]
    payment = made["PAYMENT"]
    credits = write(
        tmp_path / "credits.csv",
        "invoice_id,custom_id,amount,currency\n"
        f"{made['A']['id']},,10,EUR\n,B,10.00,eur\n,C,10,EUR\n"
        f"{payment['id']},,{payment['received_amount']},{payment['received_currency']}\n",
    )
    code, text = reconcile(made["env"], "--since", "2d", "--credits", str(credits))
    assert (code, text.strip()) == (0, "everything matches")


def test_every_difference_is_a_row_and_exit_3(
    shop: tuple[str, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    made = shop[1]
    credits = write(
        tmp_path / "credits.csv",
        "custom_id,amount,currency\nA,10,EUR\nA,10,EUR\nB,9.99,EUR\nGHOST,5,EUR\n",
    )
    out = tmp_path / "report.csv"
    code, text = reconcile(
        made["env"], "--since", "2d", "--credits", str(credits), "--out", str(out)
    )
    assert code == 3, text
    with out.open() as file:
        rows = {(r["label"], r["id"] or r["custom_id"]): r for r in csv.DictReader(file)}
    assert set(rows) == {
        ("amount-mismatch", made["A"]["id"]),  # credited twice
        ("amount-mismatch", made["B"]["id"]),
        ("paid-not-credited", made["C"]["id"]),
        ("paid-not-credited", made["PAYMENT"]["id"]),
        ("credited-not-paid", "GHOST"),
    }
    assert Decimal(rows["amount-mismatch", made["A"]["id"]]["credited_amount"]) == 20
    assert "5 difference(s)" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("id,amount\n1,2\n", "the header needs invoice_id or custom_id"),
        ("custom_id,amount,currency\nA,ten,EUR\n", "line 2: amount 'ten'"),
        ("custom_id,amount,currency\nA,10,\n", "line 2: no currency"),
    ],
)
def test_an_unreadable_credits_file_exits_2(
    shop: tuple[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / "credits.csv"
    if content is not None:
        write(path, content)
    code, text = reconcile(shop[1]["env"], "--since", "2d", "--credits", str(path))
    assert code == 2
    assert message in text


@pytest.mark.parametrize(
    ("text", "seconds"), [("2d", 172_800), ("36h", 129_600), ("90m", 5_400), ("1w", 604_800)]
)
def test_since_takes_a_number_and_a_unit(text: str, seconds: int) -> None:
    assert parse_since(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["2", "d", "2 days", "-1d", ""])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="use a number and a unit"):
        parse_since(text)
