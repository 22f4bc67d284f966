"""The ``cryptopay`` command line (extra ``cli``): ``cryptopay --help``.

This package imports without the extra, so the ``cryptopay`` script installed by a
plain ``pip install cryptopay-async`` says which extra it needs instead of failing
with a ``ModuleNotFoundError``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from cryptopay_async._extras import install_hint, missing_module

if TYPE_CHECKING:
    from cryptopay_async.cli._app import app

__all__ = ["app", "main"]

INSTALL_HINT = install_hint("cli", "the cryptopay command")


def main() -> None:
    """Console-script entry point."""
    try:
        from cryptopay_async.cli._app import main as run
    except ImportError as exc:
        missing = missing_module(exc, "cli")
        if missing is None:
            raise
        sys.stderr.write(f"error: {INSTALL_HINT} ({missing} is not installed)\n")
        raise SystemExit(2) from None
    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from cryptopay_async.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
