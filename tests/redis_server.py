"""A real redis-server for the tests: a free loopback port, no persistence, stopped after.

In CI (``CI`` set) a missing ``redis-server`` fails the tests that need it; on a
developer's machine they skip and say how to install it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from cryptopay_async.testing._server import free_port


class RedisServer:
    """One ``redis-server`` process that a test can kill and start again on its port."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            message = "redis-server is not installed (apt-get install -y redis-server)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.executable = executable
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (SIGKILL: no chance to save anything, like a crash)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
