"""The ``cryptopay`` command line (extra ``cli``): ``cryptopay --help``.

This package imports without the extra, so the ``cryptopay`` script installed by a
plain ``pip install cryptopay-async`` says which extra it needs instead of failing
with a ``ModuleNotFoundError``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptopay_async.cli._app import app

__all__ = ["app", "main"]

INSTALL_HINT = 'the cryptopay command needs the "cli" extra: pip install "cryptopay-async[cli]"'
_FROM_THE_EXTRA = frozenset({"typer", "click", "rich"})


def main() -> None:
    """Console-script entry point."""
    try:
        from cryptopay_async.cli._app import main as run
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _FROM_THE_EXTRA:
            raise
        sys.stderr.write(f"error: {INSTALL_HINT} ({missing} is not installed)\n")
        raise SystemExit(2) from None
    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from cryptopay_async.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
