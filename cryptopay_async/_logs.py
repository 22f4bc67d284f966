"""The SDK's log lines on stderr without code: ``CRYPTOPAY_LOG=debug`` (or ``info``).

All SDK modules log to the ``cryptopay_async`` logger (callbacks to a child of it).
DEBUG is one line per attempt (method, path as sent, status, attempt, elapsed, limiter
wait, request id, Cf-Ray); INFO is what deserves attention (retries, long limiter
waits, 429 pauses, ambiguous failures settled). No line carries a secret, a signature
or a body. The variable is read once, when ``cryptopay_async`` is imported; the CLI's
``--verbose`` calls ``enable`` itself.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

ENV_LOG = "CRYPTOPAY_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger("cryptopay_async")


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (as ``logging.lastResort`` does),
    so a replaced stderr (pytest, click's test runner) is never written to after closing."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def enable(level: int) -> None:
    """Write the SDK's log lines at ``level`` and above to stderr; calling again is harmless."""
    logger.setLevel(level)
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)


def enable_from_environment() -> None:
    """Apply ``CRYPTOPAY_LOG`` (``debug`` or ``info``, any case); unset or empty does nothing."""
    value = os.environ.get(ENV_LOG, "").strip()
    if not value:
        return
    level = LEVELS.get(value.lower())
    if level is None:
        shown = repr(value[:20])
        sys.stderr.write(f"cryptopay_async: {ENV_LOG}={shown} ignored: use debug or info\n")
        return
    enable(level)
