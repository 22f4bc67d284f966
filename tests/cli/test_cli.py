"""Every ``cryptopay`` command against the emulator on 127.0.0.1, in-process and as a process."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest
from typer.testing import CliRunner

from cryptopay_async import AsyncCryptopay, ServiceUnavailableError
from cryptopay_async.callbacks import signature_for
from cryptopay_async.cli import _demo, app
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from cryptopay_async.testing._server import free_port
from tests.support import fixture_bytes


@attrs.frozen
class Outcome:
    code: int
    stdout: str
    stderr: str


Run = Callable[..., Outcome]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


@pytest.fixture(params=["in-process", "subprocess"])
def cli(request: pytest.FixtureRequest, served: tuple[CryptopayEmulator, str]) -> Run:
    """Run ``cryptopay ARGS`` with the emulator's credentials in the environment."""
    emulator, url = served
    env = {
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_BASE_URL": url,
        "COLUMNS": "200",
    }

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Outcome:
        full_env = {**env, **(extra_env or {})}
        if request.param == "in-process":
            result = CliRunner().invoke(app, list(args), env=full_env)
            return Outcome(result.exit_code, result.stdout, result.stderr)
        done = subprocess.run(
            [sys.executable, "-m", "cryptopay_async", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **full_env},
            timeout=120,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)

    return run


def test_rates_as_a_table_and_as_json(cli: Run) -> None:
    one = cli("rates", "BTC", "EUR")
    assert one.code == 0
    assert "BTC/EUR" in one.stdout
    every = cli("--json", "rates")
    assert every.code == 0
    rates = json.loads(every.stdout)
    assert "BTC/EUR" in rates
    assert set(rates["BTC/EUR"]) == {"buy_rate", "sell_rate"}


def test_invoices_create_get_and_list(cli: Run) -> None:
    custom_id = f"CLI-{os.getpid()}-{id(cli)}"
    created = cli(
        "--json",
        "invoices",
        "create",
        "--amount",
        "12.50",
        "--currency",
        "eur",
        "--pay-currency",
        "btc",
        "--custom-id",
        custom_id,
    )
    assert created.code == 0, created.stderr
    invoice = json.loads(created.stdout)
    assert (invoice["price_amount"], invoice["price_currency"]) == ("12.5", "EUR")
    by_id = cli("--json", "invoices", "get", invoice["id"])
    assert json.loads(by_id.stdout)["id"] == invoice["id"]
    by_custom = cli("invoices", "get", "--custom-id", custom_id)
    assert by_custom.code == 0
    assert invoice["id"] in by_custom.stdout
    listed = cli("--json", "invoices", "list", "--all")
    assert invoice["id"] in [item["id"] for item in json.loads(listed.stdout)]
    table = cli("invoices", "list")
    assert table.code == 0
    assert "Invoices" in table.stdout


def test_withdrawals_list_and_get(cli: Run, served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served

    async def make() -> str:
        async with AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=url,
            rate_limiter=None,
        ) as client:
            payout = await client.coin_withdrawals.create(
                address="2Mz3bc",
                charged_currency="EUR",
                received_currency="BTC",
                charged_amount="20",
                force_commit=True,
            )
            return payout.id

    withdrawal_id = anyio.run(make)
    listed = cli("--json", "withdrawals", "list")
    assert withdrawal_id in [w["id"] for w in json.loads(listed.stdout)]
    got = cli("withdrawals", "get", withdrawal_id)
    assert got.code == 0
    assert "pending" in got.stdout


def test_callbacks_verify(cli: Run, tmp_path: Path) -> None:
    body = fixture_bytes("callbacks/invoice-transaction-created.json")
    path = tmp_path / "callback.json"
    path.write_bytes(body)
    good = cli(
        "callbacks",
        "verify",
        "--secret",
        "s3cret",
        "--signature",
        signature_for(body, "s3cret"),
        str(path),
    )
    assert good.code == 0
    assert "transaction_created" in good.stdout
    bad = cli(
        "callbacks",
        "verify",
        "--secret",
        "other",
        "--signature",
        signature_for(body, "s3cret"),
        str(path),
    )
    assert bad.code == 1
    assert bad.stderr.startswith("error: X-Cryptopay-Signature does not match")


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (
            ["invoices", "get", "00000000-0000-4000-8000-000000000000"],
            {},
            3,
            "error: GET /api/invoices/00000000-0000-4000-8000-000000000000 -> 404 not_found: not",
        ),
        (["invoices", "get", "not-a-uuid"], {}, 3, "invoice_id must match uuid format"),
        (["rates", "BTC"], {}, 2, "give both BASE and QUOTE"),
        (["rates"], {"CRYPTOPAY_API_KEY": ""}, 2, "CRYPTOPAY_API_KEY"),
        (["--environment", "staging", "rates"], {"CRYPTOPAY_BASE_URL": ""}, 2, "'sandbox'"),
        (
            ["invoices", "create", "--amount", "ten", "--currency", "EUR", "--pay-currency", "BTC"],
            {},
            2,
            "--amount",
        ),
        (["rates"], {"CRYPTOPAY_BASE_URL": f"http://127.0.0.1:{free_port()}"}, 4, "error: GET"),
        (["no-such-command"], {}, 2, "No such command"),
    ],
)
def test_errors_are_one_line_with_distinct_exit_codes(
    cli: Run, args: list[str], env: dict[str, str], code: int, fragment: str
) -> None:
    outcome = cli(*args, extra_env=env)
    assert outcome.code == code
    assert fragment in outcome.stderr
    if code in (3, 4):
        assert len(outcome.stderr.strip().splitlines()) == 1


def test_demo_runs_a_small_batch_and_passes_its_checks(cli: Run) -> None:
    outcome = cli("--json", "demo", "--invoices", "60", "--workers", "8", "--speedup", "30")
    summary = json.loads(outcome.stdout)
    assert summary["failed_checks"] == []  # each says what went wrong
    assert outcome.code == 0, outcome.stderr
    assert summary["invoices_created"] == 60
    assert summary["duplicate_invoices"] == 0
    assert summary["answers_429"] == 0
    assert summary["invoices_completed"] == 60
    assert summary["callbacks_verified_and_handled"] == 240
    # Every ambiguous failure was settled by the SDK reading the invoice back.
    assert summary["read_backs_by_custom_id"] >= summary["ambiguous_failures_settled_by_sdk"]


def test_a_create_that_fails_after_the_retries_is_a_failed_check_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create = _demo.create_invoice

    async def unlucky(client: AsyncCryptopay, custom_id: str) -> Any:
        if custom_id.endswith(("-0001", "-0003")):  # a 503 on every attempt
            request = httpx.Request("POST", "http://127.0.0.1/api/invoices")
            answer = httpx.Response(503, request=request)
            raise ServiceUnavailableError("503 after 7 attempts", response=answer)
        return await create(client, custom_id)

    monkeypatch.setattr(_demo, "create_invoice", unlucky)
    result = CliRunner().invoke(app, ["--json", "demo", "--invoices", "5", "--speedup", "30"])
    summary = json.loads(result.stdout)
    assert summary["failed_checks"][0] == (
        "2 of 5 creates raised after the SDK's retries (2 ServiceUnavailableError)"
    )
    assert (result.exit_code, summary["invoices_created"]) == (1, 3)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_demo_client_retries_enough_for_the_503s_it_injects() -> None:
    """All attempts of one create failing is the 503 rate to the power of the attempts:
    at most one run of 1,000 requests in 100,000 may meet it, and the client built for
    the demo really has that many attempts (a policy's count was once overridden)."""
    async with _demo._environment(False, 1.0, _demo.Stats()) as (client, _):
        attempts = client.retry_policy.max_retries + 1
    assert 1000 * _demo.FAULTS["error_503_rate"] ** attempts < 1e-5


def test_demo_against_a_configured_server_uses_the_default_limiter(cli: Run) -> None:
    """``--sandbox`` runs on the CRYPTOPAY_* settings (here the emulator on loopback) with
    the client's default limiter, one bucket per run."""
    outcome = cli("--json", "demo", "--sandbox", "--invoices", "5", "--workers", "2")
    assert outcome.code == 0, outcome.stderr
    summary = json.loads(outcome.stdout)
    assert summary["invoices_created"] == 5
    assert summary["duplicate_invoices"] == 0


def test_emulator_serve_prints_the_settings_line() -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "cryptopay_async",
        "emulator",
        "serve",
        "--port",
        str(port),
        "--emulator-api-key",
        "cli-key",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            words = shlex.split(process.stdout.readline())
            settings = dict(p.split("=", 1) for p in words[1:])
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert words[0] == "export"
    assert settings["CRYPTOPAY_API_KEY"] == "cli-key"
    assert settings["CRYPTOPAY_BASE_URL"] == f"http://127.0.0.1:{port}"


def _create_invoice(cli: Run, custom_id: str) -> dict[str, Any]:
    created = cli(
        "--json",
        "invoices",
        "create",
        "--amount",
        "12.345678",
        "--currency",
        "EUR",
        "--pay-currency",
        "BTC",
        "--custom-id",
        custom_id,
    )
    assert created.code == 0, created.stderr
    invoice: dict[str, Any] = json.loads(created.stdout)
    return invoice


@pytest.mark.parametrize(
    "args",
    [
        ["rates", "BTC", "EUR", "--json"],
        ["rates", "--json", "BTC", "EUR"],
        ["rates", "BTC", "EUR", "--api-key", "{key}", "--json"],
        ["rates", "BTC", "EUR", "--api-key={key}", "--json"],
        ["--json", "rates", "BTC", "EUR"],
    ],
)
def test_global_options_work_after_the_subcommand_too(
    cli: Run, served: tuple[CryptopayEmulator, str], args: list[str]
) -> None:
    emulator, _ = served
    args = [arg.format(key=emulator.api_key) for arg in args]
    outcome = cli(*args, extra_env={"CRYPTOPAY_API_KEY": ""} if "--api-key" in str(args) else {})
    assert outcome.code == 0, outcome.stderr
    assert set(json.loads(outcome.stdout)) == {"BTC/EUR"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rates", "--json"], ["--json", "rates"]),
        (["a", "--api-key", "k", "b"], ["--api-key", "k", "a", "b"]),
        (["a", "--api-key=k", "-v"], ["--api-key=k", "-v", "a"]),
        (["a", "--", "--json"], ["a", "--", "--json"]),
        (["a", "--custom-id", "x"], ["a", "--custom-id", "x"]),
        (["a", "--api-key"], ["--api-key", "a"]),
    ],
)
def test_hoisting_moves_only_the_root_options(args: list[str], expected: list[str]) -> None:
    from typer.main import get_command

    from cryptopay_async.cli._app import hoist_options

    assert hoist_options(get_command(app).params, args) == expected


@pytest.mark.parametrize("columns", ["40", "200"])
def test_narrow_or_piped_output_never_truncates(cli: Run, columns: str) -> None:
    invoice = _create_invoice(cli, f"NARROW-{columns}-{os.getpid()}-{id(cli)}-" + "x" * 30)
    listed = cli("invoices", "list", extra_env={"COLUMNS": columns})
    one = cli("invoices", "get", invoice["id"], extra_env={"COLUMNS": columns})
    for outcome in (listed, one):
        assert outcome.code == 0, outcome.stderr
        assert "…" not in outcome.stdout
        assert invoice["id"] in outcome.stdout
        assert invoice["custom_id"] in outcome.stdout
        assert invoice["pay_amount"] in outcome.stdout
    assert invoice["hosted_page_url"] in one.stdout


@pytest.mark.parametrize(
    ("args", "env", "code", "kind"),
    [
        (["invoices", "get", "00000000-0000-4000-8000-000000000000"], {}, 3, "NotFoundError"),
        (["rates", "--no-such-option"], {}, 2, "NoSuchOption"),
        (["rates"], {"CRYPTOPAY_API_SECRET": ""}, 2, "UsageError"),
        (
            ["rates"],
            {"CRYPTOPAY_BASE_URL": f"http://127.0.0.1:{free_port()}"},
            4,
            "APIConnectionError",
        ),
    ],
)
def test_errors_are_json_under_json(
    cli: Run, args: list[str], env: dict[str, str], code: int, kind: str
) -> None:
    outcome = cli(*args, "--json", extra_env=env)
    assert outcome.code == code
    assert outcome.stdout == ""
    error = json.loads(outcome.stderr)["error"]
    assert (error["type"], error["exit_code"]) == (kind, code)
    assert error["message"]
    if kind == "NotFoundError":
        assert (error["status"], error["code"]) == (404, "not_found")
        assert error["request_id"]


def test_missing_credentials_name_the_flags_and_variables(cli: Run) -> None:
    outcome = cli("rates", extra_env={"CRYPTOPAY_API_KEY": "", "CRYPTOPAY_API_SECRET": ""})
    assert outcome.code == 2
    assert outcome.stderr.startswith(
        "error: missing credentials: API key (--api-key or CRYPTOPAY_API_KEY), "
        "API secret (--api-secret or CRYPTOPAY_API_SECRET)"
    )
    assert "api_key=" not in outcome.stderr  # no Python argument names


def test_callbacks_verify_prints_the_event_type(cli: Run, tmp_path: Path) -> None:
    body = fixture_bytes("callbacks/invoice-transaction-created.json")
    path = tmp_path / "callback.json"
    path.write_bytes(body)
    args = ["callbacks", "verify", "--secret", "s", "--signature", signature_for(body, "s")]
    table = cli(*args, str(path))
    assert table.code == 0, table.stderr
    assert "Verified Invoice callback" in table.stdout
    as_json = json.loads(cli(*args, str(path), "--json").stdout)
    assert (as_json["type"], as_json["event"]) == ("Invoice", "transaction_created")


def test_verbose_logs_each_request_to_stderr(served: tuple[CryptopayEmulator, str]) -> None:
    emulator, url = served
    done = subprocess.run(
        [sys.executable, "-m", "cryptopay_async", "rates", "BTC", "EUR", "--verbose"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_BASE_URL": url,
        },
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG cryptopay_async: GET /api/rates/BTC/EUR -> 200 attempt=1" in done.stderr
    assert emulator.api_secret not in done.stderr


# The console script's module, run where importing typer (or rich) fails as it does
# when the package was installed without the `cli` extra.
WITHOUT = """
import runpy, sys
sys.modules[{module!r}] = None  # `import {module}` now raises ImportError
sys.argv = ["cryptopay", "rates"]
runpy.run_module("cryptopay_async", run_name="__main__")
"""


@pytest.mark.parametrize("module", ["typer", "rich"])
def test_without_the_cli_extra_the_command_says_what_to_install(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        'error: the cryptopay command needs the "cli" extra: '
        f'pip install "cryptopay-async[cli]" ({module} is not installed)\n'
    )
