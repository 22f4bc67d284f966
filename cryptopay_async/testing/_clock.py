"""The emulator's clock: real time plus an offset that tests and control routes advance.

Invoice expiry, the 30-second commit windows and webhook retry times read it; request
signing (the ``Date`` check) and the rate limit keep to real time, as a client's do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """``now()`` and ``monotonic()`` move with real time; ``advance()`` jumps ahead."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def offset(self) -> float:
        """Seconds this clock is ahead of real time."""
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Jump ahead (never back): what falls due in between happens now."""
        if not 0 <= seconds < 10**9:  # about 31 years: beyond that datetimes overflow
            raise ValueError(f"seconds must be between 0 and 1e9, not {seconds!r}")
        with self._lock:
            self._offset += seconds
        for listener in list(self._listeners):
            listener()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)
