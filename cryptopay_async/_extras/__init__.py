"""Which extra to install, said the same way wherever an optional dependency is missing.

``install_hint("testing", "the emulator")`` is the sentence; ``needs_extra`` turns the
``ModuleNotFoundError`` of a module the extra provides into one that says it, so
``from cryptopay_async.testing import CryptopayEmulator`` on a core install reads
``the emulator needs the "testing" extra: pip install "cryptopay-async[testing]"
(starlette is not installed)`` rather than ``No module named 'starlette'``. A missing
module that the extra does not provide is a different problem and passes through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

PROVIDED = {
    "testing": frozenset({"starlette", "uvicorn"}),
    "fastapi": frozenset({"fastapi", "starlette", "pydantic"}),
    "aiohttp": frozenset({"aiohttp", "multidict", "yarl"}),
    "aiohttp-transport": frozenset({"aiohttp", "multidict", "yarl"}),
    "redis": frozenset({"coredis"}),
    "cli": frozenset({"typer", "click", "rich", "starlette", "uvicorn"}),
}
"""The top-level modules each extra installs (and a missing one of which it explains)."""


def install_hint(extra: str, what: str) -> str:
    """``the emulator needs the "testing" extra: pip install "cryptopay-async[testing]"``."""
    return f'{what} needs the "{extra}" extra: pip install "cryptopay-async[{extra}]"'


def missing_module(error: ImportError, extra: str) -> str | None:
    """The top-level name of the module ``extra`` provides that ``error`` is about, if any."""
    missing = (error.name or "").partition(".")[0]
    return missing if missing in PROVIDED[extra] else None


@contextlib.contextmanager
def needs_extra(extra: str, what: str) -> Iterator[None]:
    """Re-raise a missing module of ``extra`` as a ``ModuleNotFoundError`` naming the extra.

    Still a ``ModuleNotFoundError`` (code catching ``ImportError`` keeps working), with
    the same ``name``.
    """
    try:
        yield
    except ImportError as exc:
        missing = missing_module(exc, extra)
        if missing is None:
            raise
        message = f"{install_hint(extra, what)} ({missing} is not installed)"
        raise ModuleNotFoundError(message, name=exc.name) from None
