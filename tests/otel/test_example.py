"""examples/otel_fastapi_app.py runs under uvicorn and prints its spans and metrics.

In its own process: the example sets the global providers, which can be set only once
per process (the rest of the suite relies on them being unset).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx

from cryptopay_async.callbacks import SIGNATURE_HEADER, signature_for
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread
from cryptopay_async.testing._server import free_port
from tests.support import ROOT, fixture_bytes


def started(url: str, process: subprocess.Popen[str], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app exited"
        try:
            if httpx.get(f"{url}/docs", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the app did not start")


def test_the_example_exports_the_calls_the_callback_and_the_metrics_to_the_console() -> None:
    emulator = CryptopayEmulator()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve_in_thread(emulator.asgi_app, lifespan="off") as emulator_url:
        env = {
            **os.environ,
            "CRYPTOPAY_API_KEY": emulator.api_key,
            "CRYPTOPAY_API_SECRET": emulator.api_secret,
            "CRYPTOPAY_CALLBACK_SECRET": emulator.callback_secret,
            "CRYPTOPAY_BASE_URL": emulator_url,
        }
        command = [sys.executable, "-m", "uvicorn", "examples.otel_fastapi_app:app"]
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started(url, process)
            created = httpx.post(f"{url}/orders/42/invoice", timeout=10)
            assert created.status_code == 200, created.text
            document = json.loads(fixture_bytes("callbacks/invoice-status-changed.json"))
            document["data"]["id"] = created.json()["invoice_id"]
            body = json.dumps(document).encode()
            signature = signature_for(body, emulator.callback_secret)
            delivered = httpx.post(
                f"{url}/cryptopay/callbacks",
                content=body,
                headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
                timeout=10,
            )
            assert delivered.status_code == 200, delivered.text
        finally:
            process.send_signal(signal.SIGINT)  # a graceful stop: the exporters flush
            output, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    for name in (
        '"name": "invoices.create"',
        '"name": "POST"',
        '"name": "callback Invoice.status_changed"',
        '"name": "invoices.retrieve"',  # the handler's refetch, under the delivery
        '"kind": "SpanKind.SERVER"',
        '"name": "http.client.request.duration"',
        '"name": "cryptopay.client.operation.duration"',
        '"name": "cryptopay.callbacks"',
        f"invoice {document['data']['id']} is",
    ):
        assert name in output
    for secret in (emulator.api_secret, emulator.api_key, emulator.callback_secret, signature):
        assert secret not in output + errors
