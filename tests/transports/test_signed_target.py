"""What is signed is what is sent: the request line's target, byte for byte, on each transport.

The server below reads the raw request line itself (no HTTP library that could normalize
it) and checks the ``Authorization`` signature over that target, as a server verifying
the raw target does. aiohttp re-quoted targets given as strings (``%3A`` sent as ``:``),
so the signature covered other bytes than those sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay
from cryptopay_async._signing import sign
from cryptopay_async.resources._arguments import path_segment
from tests.support import API_KEY, API_SECRET

pytestmark = pytest.mark.anyio

# aiohttp runs under asyncio only.
TRANSPORTS = [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
ANSWER = b'{"data":[],"meta":{"total":0,"has_more":false}}'


class RawRequestServer:
    """A loopback HTTP/1.1 server noting each request's raw line and whether its signature holds."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bool]] = []  # (request target, signature valid)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def __enter__(self) -> RawRequestServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *header_lines = head[:-4].split(b"\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (h.decode("latin-1").partition(":") for h in header_lines)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                method, target, _ = line.split(b" ")
                expected = sign(
                    API_SECRET, method.decode(), body, headers["date"], target.decode("latin-1")
                )
                self.seen.append((target, headers["authorization"].endswith(f":{expected}")))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawRequestServer]:
    with RawRequestServer() as server:
        yield server


def client(url: str, transport: str) -> AsyncCryptopay:
    return AsyncCryptopay(
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url=url,
        rate_limiter=None,
        max_retries=0,
        transport=transport,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("anyio_backend", "transport"), TRANSPORTS)
async def test_a_datetime_filter_goes_out_with_its_escapes_as_signed(
    raw_server: RawRequestServer, transport: str
) -> None:
    async with client(raw_server.url, transport) as api:
        await api.transactions.list(created_at_from=datetime(2026, 1, 1, tzinfo=UTC))
    target, valid = raw_server.seen[-1]
    assert target == b"/api/transactions?created_at_from=2026-01-01T00%3A00%3A00%2B00%3A00"
    assert valid, f"{transport} sent {target!r}, not the target it signed"


# Any text: escapes, reserved and non-ASCII characters, dots, percent signs.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
# An id may be any text but a dot segment, which the SDK refuses rather than send
# (tests/resources/test_arguments.py): "." and ".." would move the path.
IDS = TEXT.filter(lambda text: text not in (".", ".."))
EXTRA = st.sampled_from(["", "~", "%7E", "%3A", ":", "'", "(", "*", "!", "@", "$", ",", ";"])


@pytest.mark.parametrize(("anyio_backend", "transport"), TRANSPORTS)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ident=IDS, value=TEXT, extra=EXTRA, raw=st.lists(EXTRA, min_size=1, max_size=4).map("".join))
async def test_every_target_goes_out_byte_for_byte_as_signed(
    raw_server: RawRequestServer, transport: str, ident: str, value: str, extra: str, raw: str
) -> None:
    """Ids and query values the SDK encodes, plus characters a caller's own path carries."""
    path = f"/api/things/{path_segment(ident)}/{raw}x{extra}"
    async with client(raw_server.url, transport) as api:
        await api.request("GET", path, params={"q": value, "r": extra or "-"})
    target, valid = raw_server.seen[-1]
    assert target.startswith(path.encode()), f"{transport} sent {target!r} for path {path!r}"
    assert valid, f"{transport} sent {target!r}, not the target it signed"
