"""A loopback HTTP server that fails the way networks do, counting what arrived.

Real TCP on 127.0.0.1 with plain blocking sockets in threads, so it behaves the same
whichever event loop the client under test runs, and it can do what an ASGI server will
not: reset a connection, close it before the status line, promise a body it never sends.
Every request is read in full (headers and ``Content-Length`` body) and recorded in
``arrivals`` before the server misbehaves: an arrival is a request the server could have
processed.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO


class Fault(enum.Enum):
    """What the server does after reading a request."""

    RESET_AFTER_READ = "reset after the request was read"
    CLOSE_BEFORE_STATUS = "close before the status line"
    TRUNCATED_BODY = "truncated body"
    SLOW_ANSWER = "slow answer past the timeout"
    ANSWER = "a well-formed 200 answer"


ANSWER_BODY = b'{"data":{"ok":true}}'
SLOW_LIMIT = 10.0  # seconds a slow answer waits for the client to give up


class MisbehavingServer:
    """Accepts connections on 127.0.0.1 and treats every request as ``fault`` says."""

    def __init__(self, fault: Fault, *, answer_delay: float = 0.0) -> None:
        self.fault = fault
        self.answer_delay = answer_delay  # ANSWER waits this long before answering
        self.arrivals: list[tuple[str, str]] = []  # (method, target) of each full request
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for arrived, _ in self.arrivals if arrived == method)

    def __enter__(self) -> MisbehavingServer:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=SLOW_LIMIT + 5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(SLOW_LIMIT)
        reader = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                request = _read_request(reader)
                if request is None:
                    return  # the client closed the connection
                with self._lock:
                    self.arrivals.append(request)
                if not self._misbehave(conn):
                    return
        except OSError:
            return
        finally:
            reader.close()
            with contextlib.suppress(OSError):
                conn.close()

    def _misbehave(self, conn: socket.socket) -> bool:
        """Act out the fault; ``True`` when the connection stays open for another request."""
        fault = self.fault
        if fault is Fault.RESET_AFTER_READ:
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif fault is Fault.TRUNCATED_BODY:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + ANSWER_BODY[:8]
            )
        elif fault is Fault.SLOW_ANSWER:
            # Say nothing until the client gives up (its close reads as b"") or the limit.
            with contextlib.suppress(OSError):
                while not self._stopping.is_set() and conn.recv(1024):
                    pass
        elif fault is Fault.ANSWER:
            if self.answer_delay:
                self._stopping.wait(self.answer_delay)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER_BODY), ANSWER_BODY)
            )
            return True
        return False  # CLOSE_BEFORE_STATUS and the rest: close (FIN) without a word


def _read_request(reader: BinaryIO) -> tuple[str, str] | None:
    """Read one request (head and body) from a socket file; ``None`` at end of stream."""
    readline = reader.readline
    line = readline(65536)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    length = 0
    while True:
        header = readline(65536)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    remaining = length
    while remaining:
        chunk = reader.read(remaining)
        if not chunk:
            return None  # the client went away mid-body: not a full request
        remaining -= len(chunk)
    return method, target


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """The URL of a loopback port nobody listens on: connections are refused."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def unanswered_port() -> Iterator[str]:
    """The URL of a loopback port whose accept queue is full: a connect times out.

    A listener with a backlog of 0 that never accepts holds one connection; the kernel
    drops further SYNs, so the client waits for its connect timeout.
    """
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        filler.close()
        listener.close()
