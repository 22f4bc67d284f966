"""Serving the emulator from a shell: one implementation and one set of flags for
``python -m cryptopay_async.testing serve`` and ``cryptopay emulator serve``.

It binds and listens first, so ``--port 0`` picks a free port that the printed line
names, and a client may connect as soon as the line appears. The line is
``export CRYPTOPAY_...=...`` for pasting into a shell; ``--env-file`` writes it to a
file (mode 600: it holds the secrets).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptopay_async._extras import install_hint
from cryptopay_async.testing._emulator import CryptopayEmulator
from cryptopay_async.testing._faults import RATES, SECONDS, Faults

if TYPE_CHECKING:
    import uvicorn

TOKEN_VARIABLE = "CRYPTOPAY_EMULATOR_TOKEN"
FAULT_FLAGS = (*RATES, *SECONDS, "maintenance", "seed")


def parser(prog: str = "python -m cryptopay_async.testing serve") -> argparse.ArgumentParser:
    """The flags, shared by both entry points."""
    serve = argparse.ArgumentParser(
        prog=prog, description="Run the Cryptopay emulator on HOST:PORT with uvicorn."
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--api-key", "--emulator-api-key", dest="api_key")
    serve.add_argument("--api-secret", "--emulator-api-secret", dest="api_secret")
    serve.add_argument("--callback-secret")
    serve.add_argument("--callback-url", help="where to POST signed callbacks")
    serve.add_argument(
        "--callback-time-scale",
        type=float,
        default=1.0,
        help="multiply webhook retry delays (e.g. 0.001)",
    )
    serve.add_argument("--rate-limit", type=int, default=200)
    serve.add_argument("--rate-period", type=float, default=60.0)
    serve.add_argument(
        "--control-token",
        help="require this token on /_emulator routes (default: loopback clients only; "
        "a token is generated when HOST is not a loopback address)",
    )
    serve.add_argument("--env-file", type=Path, help="also write the export line here")
    faults = serve.add_argument_group("faults")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds before processing")
    faults.add_argument("--error-500-rate", type=float, default=0.0)
    faults.add_argument("--error-503-rate", type=float, default=0.0)
    faults.add_argument("--drop-rate", type=float, default=0.0)
    faults.add_argument("--delay-rate", type=float, default=0.0)
    faults.add_argument("--delay-seconds", type=float, default=0.0, help="after processing")
    faults.add_argument(
        "--callback-drop-rate", type=float, default=0.0, help="events never delivered"
    )
    faults.add_argument(
        "--callback-duplicate-rate", type=float, default=0.0, help="events delivered twice"
    )
    faults.add_argument(
        "--callback-reorder-rate", type=float, default=0.0, help="events overtaken by later ones"
    )
    faults.add_argument("--maintenance", action="store_true")
    faults.add_argument("--seed", type=int)
    return serve


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def control_token_for(host: str, given: str | None) -> str | None:
    """The token the control routes require: the one given, or a new one when the
    server listens beyond loopback (where "loopback clients only" would lock you out)."""
    if given is None and not _loopback(host):
        return secrets.token_urlsafe(24)
    return given


def export_line(emulator: CryptopayEmulator, base_url: str) -> str:
    settings = {
        "CRYPTOPAY_BASE_URL": base_url,
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_CALLBACK_SECRET": emulator.callback_secret,
    }
    if emulator.control_token:
        settings[TOKEN_VARIABLE] = emulator.control_token
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog or "python -m cryptopay_async.testing serve").parse_args(argv)
    if importlib.util.find_spec("uvicorn") is None:
        print(f"error: {install_hint('testing', 'the emulator server')}", file=sys.stderr)
        return 2
    try:
        faults = Faults(**{name: getattr(args, name) for name in FAULT_FLAGS})
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    token = control_token_for(args.host, args.control_token)
    emulator = CryptopayEmulator(
        rate_limit=args.rate_limit,
        rate_period=args.rate_period,
        api_key=args.api_key,
        api_secret=args.api_secret,
        callback_secret=args.callback_secret,
        callback_url=args.callback_url,
        callback_time_scale=args.callback_time_scale,
        faults=faults,
        control_token=token,
    )
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if sock.family == socket.AF_INET6 else args.host
    line = export_line(emulator, f"http://{host}:{port}")
    if args.env_file is not None:
        write_env_file(args.env_file, line)
    print(line, flush=True)
    uvicorn_server(emulator).run(sockets=[sock])
    return 0


def write_env_file(path: Path, line: str) -> None:
    """Write the export line to ``path``, readable by its owner only (it holds secrets).

    In a git work tree where ``path`` is not ignored, a warning on stderr says so: a
    ``git add .`` would commit the secrets.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode otherwise
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write(line + "\n")
    git = shutil.which("git")
    if git is None:
        return
    # git check-ignore: 0 ignored, 1 not ignored, 128 not in a work tree.
    checked = subprocess.run(
        [git, "check-ignore", "-q", "--", path.name],
        cwd=path.resolve().parent,
        capture_output=True,
        check=False,
    )
    if checked.returncode == 1:
        print(
            f"warning: {path} holds the emulator's secrets and is inside a git work tree "
            "that does not ignore it: add it to .gitignore",
            file=sys.stderr,
        )


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening (``port`` 0 picks a free one).

    It is created with ``IPPROTO_TCP``: accepted connections inherit the protocol
    number, and asyncio turns ``TCP_NODELAY`` on only for sockets that carry it. Without
    it every answer on a reused connection waits for the client's delayed ACK (Nagle).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_server(emulator: CryptopayEmulator) -> uvicorn.Server:
    """The uvicorn server ``serve`` runs the emulator with (on a ``listening_socket``)."""
    import uvicorn

    config = uvicorn.Config(emulator.asgi_app, log_level="warning", lifespan="on")
    return uvicorn.Server(config)
