"""``python -m cryptopay_async.testing serve``: the emulator as a real HTTP server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cryptopay_async.testing._emulator import CryptopayEmulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cryptopay_async.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key")
    serve.add_argument("--api-secret")
    serve.add_argument("--callback-secret")
    serve.add_argument("--callback-url", help="where to POST signed callbacks")
    serve.add_argument("--rate-limit", type=int, default=200)
    serve.add_argument("--rate-period", type=float, default=60.0)
    args = parser.parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        print(
            'the emulator server needs uvicorn: pip install "cryptopay-async[testing]"',
            file=sys.stderr,
        )
        return 2
    emulator = CryptopayEmulator(
        rate_limit=args.rate_limit,
        rate_period=args.rate_period,
        api_key=args.api_key,
        api_secret=args.api_secret,
        callback_secret=args.callback_secret,
        callback_url=args.callback_url,
    )
    print(
        f"CRYPTOPAY_BASE_URL=http://{args.host}:{args.port} "
        f"CRYPTOPAY_API_KEY={emulator.api_key} CRYPTOPAY_API_SECRET={emulator.api_secret} "
        f"CRYPTOPAY_CALLBACK_SECRET={emulator.callback_secret}",
        flush=True,
    )
    uvicorn.run(emulator.asgi_app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
