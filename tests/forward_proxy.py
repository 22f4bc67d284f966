"""A real forwarding HTTP proxy on 127.0.0.1 for tests: absolute-form requests and CONNECT.

It forwards only to 127.0.0.1 (tests never send traffic elsewhere) and records every
request line it handled, so a test can tell whether a client went through it.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class ProxyLog:
    """What the proxy saw: request lines (``GET http://...``, ``CONNECT host:port``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[str] = []
        self.proxy_authorization: list[str | None] = []
        self.lock = threading.Lock()

    def record(self, line: str, authorization: str | None) -> None:
        with self.lock:
            self.requests.append(line)
            self.proxy_authorization.append(authorization)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _target(self) -> tuple[str, int] | None:
        host, _, port = (
            self.path.partition(":")
            if self.command == "CONNECT"
            else (urllib.parse.urlsplit(self.path).netloc.partition(":"))
        )
        if host != "127.0.0.1" or not port.isdigit():
            self.send_error(403, "this test proxy forwards to 127.0.0.1 only")
            return None
        return host, int(port)

    def _forward(self) -> None:
        self.server.log.record(
            f"{self.command} {self.path}", self.headers.get("Proxy-Authorization")
        )
        target = self._target()
        if target is None:
            return
        parts = urllib.parse.urlsplit(self.path)
        origin_form = parts.path + (f"?{parts.query}" if parts.query else "")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*target, timeout=30)
        try:
            upstream.request(self.command, origin_form, body=body, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    def do_CONNECT(self) -> None:
        self.server.log.record(f"CONNECT {self.path}", self.headers.get("Proxy-Authorization"))
        target = self._target()
        if target is None:
            return
        with socket.create_connection(target, timeout=30) as upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            _relay(self.connection, upstream)
        self.close_connection = True


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    log: ProxyLog


@contextmanager
def forward_proxy() -> Iterator[ProxyLog]:
    """Run the proxy on 127.0.0.1 for the block; yields its log (with ``.url``)."""
    server = _ProxyServer(("127.0.0.1", 0), _Handler)
    server.log = ProxyLog(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="test-proxy", daemon=True)
    thread.start()
    try:
        yield server.log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
