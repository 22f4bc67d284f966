"""The example apps, started as their docstrings say, refuse to start without a callback
secret and name the variable, instead of answering every callback 500 later."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from cryptopay_async.testing._server import free_port
from tests.support import API_KEY, API_SECRET, CALLBACK_SECRET, ROOT

COMMANDS = {  # as the examples' docstrings say to run them
    "fastapi": ["-m", "uvicorn", "--port", "{port}", "examples.fastapi_app:app"],
    "aiohttp": [
        "-m",
        "aiohttp.web",
        "-H",
        "127.0.0.1",
        "-P",
        "{port}",
        "examples.aiohttp_app:make_app",
    ],
}


def start(app: str, port: int, **env: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOPAY_")}
    settings = {"CRYPTOPAY_API_KEY": API_KEY, "CRYPTOPAY_API_SECRET": API_SECRET}
    settings["CRYPTOPAY_BASE_URL"] = "http://127.0.0.1:9"  # never called: the app only starts
    command = [sys.executable, *(arg.format(port=port) for arg in COMMANDS[app])]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**base, **settings, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("app", sorted(COMMANDS))
def test_an_app_without_a_callback_secret_refuses_to_start(app: str) -> None:
    with start(app, free_port()) as process:
        output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "no callback secret" in output
    assert "CRYPTOPAY_CALLBACK_SECRET" in output


@pytest.mark.parametrize("app", sorted(COMMANDS))
def test_an_app_with_a_callback_secret_starts_and_serves(app: str) -> None:
    port = free_port()
    with start(app, port, CRYPTOPAY_CALLBACK_SECRET=CALLBACK_SECRET) as process:
        try:
            status = first_answer(f"http://127.0.0.1:{port}/cryptopay/callbacks", process)
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=15)
    assert status == 400, output  # a callback without a signature: refused, not a 500


def first_answer(url: str, process: subprocess.Popen[str]) -> int:
    """The status of a POST to ``url`` once the server listens (it may take a while)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            return httpx.post(url, content=b"{}", trust_env=False).status_code
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"the app did not answer (exit code {process.poll()})")
