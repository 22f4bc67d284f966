"""The admission gate: a bounded number of calls inside the chain, FIFO, cancellation-safe."""

from __future__ import annotations

import anyio
import pytest

from cryptopay_async.middleware import AdmissionGate
from cryptopay_async.middleware._admission import ADMITTED_PER_SLOT


@pytest.mark.anyio
@pytest.mark.parametrize("max_concurrency", [1, 3])
async def test_admits_four_calls_per_slot_and_queues_the_rest(max_concurrency: int) -> None:
    gate = AdmissionGate(max_concurrency)
    inside = peak = 0
    release = anyio.Event()

    async def call() -> None:
        nonlocal inside, peak
        async with gate:
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        assert inside == max_concurrency * ADMITTED_PER_SLOT
        release.set()
    assert (inside, peak) == (0, max_concurrency * ADMITTED_PER_SLOT)


@pytest.mark.anyio
async def test_a_call_cancelled_while_waiting_takes_no_place() -> None:
    gate = AdmissionGate(1)
    order: list[str] = []
    release = anyio.Event()

    async def hold(name: str) -> None:
        async with gate:
            order.append(name)
            await release.wait()

    async with anyio.create_task_group() as tg:
        for index in range(ADMITTED_PER_SLOT):
            tg.start_soon(hold, f"held-{index}")
        await anyio.wait_all_tasks_blocked()
        with anyio.CancelScope() as waiting:
            waiting.cancel()
            async with gate:  # pragma: no cover - cancelled before it gets in
                order.append("cancelled")
        tg.start_soon(hold, "next")
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert sorted(order[:-1]) == [f"held-{i}" for i in range(ADMITTED_PER_SLOT)]
    assert order[-1] == "next"


def test_refuses_less_than_one_slot() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be >= 1, got 0"):
        AdmissionGate(0)
