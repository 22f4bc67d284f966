"""Wake tasks sleeping in any thread's event loop (asyncio or trio) from any thread.

The emulator's state is changed from a test's thread while its webhook sender may run in
a server thread's loop. anyio events are not thread-safe and ``anyio.from_thread``
blocks until the other loop runs the call (forever if it has stopped), so a wake-up is
posted to the sleeper's own loop without waiting: ``call_soon_threadsafe`` on asyncio,
``TrioToken.run_sync_soon`` on trio.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Any

import anyio
import anyio.lowlevel


class _Sleeper:
    def __init__(self) -> None:
        self.event = anyio.Event()
        self.native: Any = anyio.lowlevel.current_token().native_token
        self.thread = threading.get_ident()

    def wake(self) -> None:
        if self.thread == threading.get_ident():
            self.event.set()
            return
        post = getattr(self.native, "call_soon_threadsafe", None) or self.native.run_sync_soon
        with contextlib.suppress(RuntimeError):  # that loop has ended: nobody to wake
            post(self.event.set)


class Wakeup:
    """``arm()`` before looking at the shared state, then ``await sleep(...)``.

    Arming first means a ``notify()`` that lands between the look and the sleep is not
    lost: the sleep returns at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sleepers: set[_Sleeper] = set()

    def arm(self) -> _Sleeper:
        sleeper = _Sleeper()
        with self._lock:
            self._sleepers.add(sleeper)
        return sleeper

    async def sleep(self, sleeper: _Sleeper, seconds: float = math.inf) -> None:
        """Until ``notify()`` or ``seconds`` have passed (anyio's clock), whichever is first."""
        try:
            with anyio.move_on_after(max(seconds, 0)):
                await sleeper.event.wait()
        finally:
            self.disarm(sleeper)

    def disarm(self, sleeper: _Sleeper) -> None:
        """No sleep after all (the look found work)."""
        with self._lock:
            self._sleepers.discard(sleeper)

    def notify(self) -> None:
        with self._lock:
            sleepers = list(self._sleepers)
        for sleeper in sleepers:
            sleeper.wake()
