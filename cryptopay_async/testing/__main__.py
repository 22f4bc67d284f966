"""``python -m cryptopay_async.testing serve``: the emulator as a real HTTP server."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cryptopay_async.testing._serve import main as serve


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "serve":
        print("usage: python -m cryptopay_async.testing serve [--help] [flags]", file=sys.stderr)
        return 2
    return serve(args[1:])


if __name__ == "__main__":
    sys.exit(main())
