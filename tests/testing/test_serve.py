"""``python -m cryptopay_async.testing serve`` and the pytest plugin, as users meet them."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cryptopay_async import AsyncCryptopay, RetryPolicy
from cryptopay_async.testing import CryptopayEmulator
from cryptopay_async.testing._serve import (
    control_token_for,
    listening_socket,
    uvicorn_server,
    write_env_file,
)
from cryptopay_async.testing._serve import main as serve_main
from cryptopay_async.testing._server import free_port
from tests.support import ROOT

pytestmark = pytest.mark.anyio


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "cryptopay_async.testing",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        "cli-key",
        "--callback-secret",
        "cli-callback",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            words = shlex.split(process.stdout.readline())
            assert words[0] == "export"
            yield dict(pair.split("=", 1) for pair in words[1:])
        finally:
            process.terminate()
            process.wait(timeout=10)


async def test_serve_prints_the_settings_line_and_answers_signed_requests(
    served: dict[str, str],
) -> None:
    assert set(served) == {
        "CRYPTOPAY_BASE_URL",
        "CRYPTOPAY_API_KEY",
        "CRYPTOPAY_API_SECRET",
        "CRYPTOPAY_CALLBACK_SECRET",
    }
    assert served["CRYPTOPAY_API_KEY"] == "cli-key"
    assert served["CRYPTOPAY_CALLBACK_SECRET"] == "cli-callback"
    assert served["CRYPTOPAY_BASE_URL"].startswith("http://127.0.0.1:")
    client = AsyncCryptopay(
        api_key=served["CRYPTOPAY_API_KEY"],
        api_secret=served["CRYPTOPAY_API_SECRET"],
        base_url=served["CRYPTOPAY_BASE_URL"],
        rate_limiter=None,
        retry_policy=RetryPolicy(max_retries=20, initial_backoff=0.1, max_backoff=0.2),
    )
    async with client:
        rate = await client.rates.retrieve("BTC", "EUR")  # retried until the server listens
        invoice = await client.invoices.create(
            price_amount="1", price_currency="EUR", pay_currency="BTC"
        )
        assert (await client.invoices.retrieve(invoice.id)).id == invoice.id
    assert rate.buy_rate > 0


async def test_the_plugin_fixtures(
    cryptopay_emulator: CryptopayEmulator, cryptopay_server: tuple[CryptopayEmulator, str]
) -> None:
    emulator, url = cryptopay_server
    assert emulator is cryptopay_emulator
    async with AsyncCryptopay(
        api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url, rate_limiter=None
    ) as client:
        assert await client.coins.list()


def serve_help(*command: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},  # no flag wrapped
    )
    assert done.returncode == 0, done.stderr
    return set(re.findall(r"(?<![\w-])--[a-z0-9-]+", done.stdout))


def test_both_serve_commands_take_the_same_flags() -> None:
    module = serve_help("cryptopay_async.testing", "serve")
    cli = serve_help("cryptopay_async", "emulator", "serve")
    assert module == cli
    assert {
        "--api-key",
        "--api-secret",
        "--callback-secret",
        "--callback-url",
        "--rate-limit",
        "--rate-period",
        "--error-503-rate",
        "--drop-rate",
        "--delay-rate",
        "--delay-seconds",
        "--control-token",
        "--env-file",
    } <= module


@pytest.mark.parametrize("entry", [["cryptopay_async.testing"], ["cryptopay_async", "emulator"]])
def test_port_0_env_file_and_token_are_printed_as_an_export_line(
    entry: list[str], tmp_path: Path
) -> None:
    env_file = tmp_path / "emulator.env"
    command = [
        sys.executable,
        "-m",
        *entry,
        "serve",
        "--port",
        "0",
        "--api-key",
        "k-1",
        "--control-token",
        "tok en'$",  # quoted so a shell reads it back exactly
        "--env-file",
        str(env_file),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            settings = dict(word.split("=", 1) for word in shlex.split(line)[1:])
            with httpx.Client(base_url=settings["CRYPTOPAY_BASE_URL"]) as http:
                refused = http.get("/_emulator/ledger")
                allowed = http.get(
                    "/_emulator/ledger",
                    headers={"X-Emulator-Token": settings["CRYPTOPAY_EMULATOR_TOKEN"]},
                )
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert line.startswith("export CRYPTOPAY_BASE_URL=http://127.0.0.1:")
    assert not settings["CRYPTOPAY_BASE_URL"].endswith(":0")
    assert settings["CRYPTOPAY_API_KEY"] == "k-1"
    assert settings["CRYPTOPAY_EMULATOR_TOKEN"] == "tok en'$"
    assert env_file.read_text() == line + "\n"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert (refused.status_code, allowed.status_code) == (401, 200)
    shell = subprocess.run(
        ["sh", "-c", f'. {shlex.quote(str(env_file))} && printf %s "$CRYPTOPAY_EMULATOR_TOKEN"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shell.stdout == "tok en'$"


@pytest.mark.parametrize(
    ("host", "given", "generated"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("192.168.1.10", None, True),
        ("0.0.0.0", "mine", False),
    ],
)
def test_a_token_is_generated_when_listening_beyond_loopback(
    host: str, given: str | None, generated: bool
) -> None:
    token = control_token_for(host, given)
    if generated:
        assert token is not None
        assert len(token) >= 24
    else:
        assert token == given


def test_bad_fault_flags_are_a_usage_error() -> None:
    assert serve_main(["--drop-rate", "2", "--port", "0"]) == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_served_emulator_answers_on_connections_with_tcp_nodelay(host: str) -> None:
    """Without TCP_NODELAY each answer on a reused connection waits for a delayed ACK."""
    emulator = CryptopayEmulator()
    sock = listening_socket(host, 0)
    server = uvicorn_server(emulator)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        url = f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}"
        with httpx.Client(base_url=url, trust_env=False) as http:
            answers = [http.get("/_emulator/ledger").status_code for _ in range(2)]
            accepted = [
                protocol.transport.get_extra_info("socket")
                for protocol in server.server_state.connections
            ]
            nodelay = [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in accepted]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert answers == [200, 200]
    assert len(accepted) == 1  # the one connection, reused
    assert all(nodelay), nodelay


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.mark.parametrize(
    ("repository", "ignored", "warned"),
    [
        (False, False, False),  # not in a git work tree
        (True, False, True),  # a `git add .` would commit the secrets
        (True, True, False),
    ],
)
def test_an_env_file_is_owner_only_and_a_git_tree_that_would_commit_it_is_warned_of(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    repository: bool,
    ignored: bool,
    warned: bool,
) -> None:
    if repository:
        git("init", "-q", cwd=tmp_path)
    if ignored:
        (tmp_path / ".gitignore").write_text(".emulator.env\n")
    env_file = tmp_path / ".emulator.env"
    env_file.write_text("old\n")
    env_file.chmod(0o644)  # written before by hand: the secrets must not stay readable
    write_env_file(env_file, "export CRYPTOPAY_API_SECRET=s")
    assert env_file.read_text() == "export CRYPTOPAY_API_SECRET=s\n"
    assert env_file.stat().st_mode & 0o777 == 0o600
    stderr = capsys.readouterr().err
    assert ("add it to .gitignore" in stderr) is warned, stderr


def test_the_repository_ignores_the_env_file_the_docs_suggest() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".emulator.env" in ignored
