"""What a newcomer reads from ``cryptopay``: the version, help pages, empty lists, nested
values and the advice in a 409 or a 429, each as the command prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from cryptopay_async._decoding._engines import engine
from cryptopay_async.cli import app
from cryptopay_async.cli._output import show
from cryptopay_async.models import Invoice
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from tests.support import fixture_bytes

HELP_PAGES = [
    ["--help"],
    ["invoices", "list", "--help"],
    ["emulator", "faults", "--help"],
    ["emulator", "serve", "--help"],
    ["batch", "--help"],
]


def cryptopay(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, in its own process, 100 columns wide."""
    return subprocess.run(
        [sys.executable, "-m", "cryptopay_async", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize("args", [["--version"], ["invoices", "list", "--version"]])
def test_version_prints_the_installed_version(args: list[str]) -> None:
    done = cryptopay(*args)
    assert (done.returncode, done.stdout) == (0, f"cryptopay-async {version('cryptopay-async')}\n")


@pytest.mark.parametrize("args", HELP_PAGES)
def test_help_pages_share_one_layout_and_show_no_value_for_a_flag(args: list[str]) -> None:
    done = cryptopay(*args)
    assert done.returncode == 0, done.stderr
    command = " ".join(arg for arg in args if arg != "--help")
    assert f"Usage: python -m cryptopay_async {command}".rstrip() in done.stdout
    assert "─ Options ─" in done.stdout
    assert "<bool>" not in done.stdout
    assert "usage:" not in done.stdout  # argparse's own layout


def test_a_flag_taking_a_value_still_shows_its_type() -> None:
    assert "<int>" in cryptopay("emulator", "serve", "--help").stdout


@pytest.fixture
def emulator_env(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[CryptopayEmulator, dict[str, str]]]:
    """A served emulator (admitting ``rate_limit`` requests a minute) and its settings."""
    emulator = CryptopayEmulator(rate_limit=getattr(request, "param", 100))
    with serve_in_thread(emulator.asgi_app) as url:
        yield (
            emulator,
            {
                "CRYPTOPAY_API_KEY": emulator.api_key,
                "CRYPTOPAY_API_SECRET": emulator.api_secret,
                "CRYPTOPAY_BASE_URL": url,
            },
        )


@pytest.mark.parametrize(
    ("args", "said"),
    [(["invoices", "list"], "no invoices\n"), (["withdrawals", "list"], "no coin withdrawals\n")],
)
def test_an_empty_list_says_so(
    emulator_env: tuple[CryptopayEmulator, dict[str, str]], args: list[str], said: str
) -> None:
    result = CliRunner().invoke(app, args, env=emulator_env[1])
    assert (result.exit_code, result.stdout) == (0, said)


def test_nested_values_are_rows_and_enums_show_their_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoice, _ = engine.envelope(fixture_bytes("responses-2023/invoices/retrieve.json"), Invoice)
    show(invoice, "Invoice")
    shown = capsys.readouterr().out
    level = invoice.transactions[0].risk.level
    assert f"transactions[0].risk.level │ {level}" in " ".join(shown.split()).replace("│ │", "│")
    assert "RiskLevel" not in shown
    assert "{'" not in shown  # no dict or list printed as Python


def test_a_409_tells_the_cli_command_that_reads_the_first_invoice_back(
    emulator_env: tuple[CryptopayEmulator, dict[str, str]],
) -> None:
    _, env = emulator_env
    create = ["invoices", "create", "--amount", "10", "--currency", "EUR"]
    create += ["--pay-currency", "BTC", "--custom-id", "ORDER 42"]
    assert cryptopay(*create, env=env).returncode == 0
    again = cryptopay(*create, env=env)
    assert again.returncode == 3
    advice = "read it back with `cryptopay invoices get 'ORDER 42' --custom-id`"
    assert advice in again.stderr
    assert "retrieve_by_custom_id" not in again.stderr
    read_back = cryptopay("invoices", "get", "ORDER 42", "--custom-id", env=env)
    assert read_back.returncode == 0, read_back.stderr
    assert "ORDER 42" in read_back.stdout


@pytest.mark.parametrize("emulator_env", [1], indirect=True)
def test_a_429_says_what_the_client_limiter_allows_not_a_fixed_figure(
    emulator_env: tuple[CryptopayEmulator, dict[str, str]],
) -> None:
    env = emulator_env[1]
    assert cryptopay("rates", "BTC", "EUR", env=env).returncode == 0
    refused = cryptopay("rates", "BTC", "EUR", env=env)  # a new process: a new limiter
    assert refused.returncode == 3
    assert "429 rate_limit_exceeded" in refused.stderr
    assert "this client's limiter allows 200 requests per 60 s" in refused.stderr
    assert "per minute per API key" not in refused.stderr
