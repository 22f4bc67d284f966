"""Shared test helpers: recorded fixtures, a mock transport that records, a loopback server."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    from aiohttp import web

from cryptopay_async import AsyncCryptopay
from cryptopay_async.testing._server import free_port, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "cryptopay_async" / "testing" / "data"
"""The recorded bodies (shared fixtures, verbatim): kept once, in the package, for the emulator."""
API_SPEC = ROOT / "codegen" / "api"
"""The API description (shared reference, verbatim) that the code generator reads."""

API_KEY = "test-key-0123"
API_SECRET = "test-secret-do-not-log-9f8e7d"
CALLBACK_SECRET = "test-callback-secret-5a4b3c"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_bytes(relative))


def expected_signature(secret: str, method: str, body: bytes, date: str, target: str) -> str:
    """The documented algorithm written out independently of the SDK's signer."""
    digest = hashlib.md5(body).hexdigest() if body else ""
    message = "\n".join([method, digest, "application/json", date, target])
    mac = hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def signature_is_valid(
    request: httpx.Request, *, key: str = API_KEY, secret: str = API_SECRET
) -> bool:
    auth = request.headers.get("authorization", "")
    target = request.url.raw_path.decode()
    want = expected_signature(
        secret, request.method, request.content, request.headers["date"], target
    )
    return bool(auth == f"HMAC {key}:{want}")


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """An ``httpx.MockTransport`` handler that keeps every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # A retried request is the same object re-signed: keep each attempt as it was sent.
        snapshot = httpx.Request(
            request.method, request.url, headers=request.headers.copy(), content=request.content
        )
        snapshot.extensions = dict(request.extensions)
        self.requests.append(snapshot)
        return self.handler(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def serve_asgi(
    app: Any, *, lifespan: Literal["on", "off"] = "off"
) -> contextlib.AbstractContextManager[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    return serve_in_thread(app, lifespan=lifespan)


def recorded_client(recorder: Recorder, **settings: Any) -> AsyncCryptopay:
    """A client wired to ``recorder``: test credentials, no pacing, quick retries."""
    from cryptopay_async import RetryPolicy

    options: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "base_url": "https://h",
        "rate_limiter": None,
        "retry_policy": RetryPolicy(initial_backoff=0),
        "http_client": recorder.client(),
        **settings,
    }
    return AsyncCryptopay(**options)


def replaying(status: int, relative: str) -> Recorder:
    """A recorder answering every request with one recorded fixture body."""
    body = fixture_json(relative)
    return Recorder(lambda request: json_response(status, body))


@contextlib.contextmanager
def serve_aiohttp(app: Any) -> Iterator[str]:
    """Run an aiohttp ``web.Application`` on 127.0.0.1 in a thread with its own loop."""
    import asyncio

    from aiohttp import web

    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("aiohttp test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


async def answer_cut_short(request: web.Request, sent: bytes, promised: int) -> web.StreamResponse:
    """An aiohttp handler's answer that promises ``promised`` bytes, sends ``sent``, hangs up."""
    from aiohttp import web

    response = web.StreamResponse(headers={"Content-Length": str(promised)})
    await response.prepare(request)
    await response.write(sent)
    assert request.transport is not None
    request.transport.close()
    return response


def count_new_ssl_contexts(monkeypatch: Any) -> list[object]:
    """After one client is built (it may create the shared context), record each new one."""
    import ssl

    from cryptopay_async import AsyncCryptopay

    AsyncCryptopay(api_key="k", api_secret="s")
    built: list[object] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return built
