"""The limiter's window promise as a property, on trio's virtual clock.

For any rate, period, burst and margin, any arrival pattern, pauses and cancellations:
no half-open window of ``period + margin`` seconds holds more than ``rate`` grants,
every caller not cancelled is served, callers arriving apart are served in order, and a
cancelled caller takes nothing. Hypothesis looks for the counterexample; the virtual
clock makes hours of pacing take milliseconds.
"""

from __future__ import annotations

import bisect
import itertools

import hypothesis.strategies as st
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings

from cryptopay_async.ratelimit import TokenBucket

EXAMPLES = 1000


def most_in_any_window(times: list[float], width: float) -> int:
    """The most grants in any half-open window ``[t, t + width)``."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered)), default=0
    )


@st.composite
def buckets(draw: st.DrawFn) -> TokenBucket:
    rate = draw(st.integers(1, 30))
    period = draw(st.floats(0.001, 600, allow_nan=False, allow_infinity=False))
    burst = draw(st.integers(1, rate))
    margin = period * draw(st.sampled_from([0.0, 0.01, 0.1, 0.5]))
    return TokenBucket(rate=rate, period=period, burst=burst, margin=margin)


# Arrivals in units of the period, mostly crowded into a few periods (where windows
# fill up), some spread out (quiet spells, then bursts).
callers = st.lists(
    st.tuples(
        st.one_of(st.floats(0, 3, allow_nan=False), st.floats(0, 60, allow_nan=False)),
        st.one_of(st.none(), st.floats(0, 5, allow_nan=False)),  # cancelled after (periods)
    ),
    min_size=1,
    max_size=150,
)
pauses = st.lists(
    st.tuples(st.floats(0, 120, allow_nan=False), st.floats(0, 3, allow_nan=False)),
    max_size=4,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bucket=buckets(), callers=callers, pauses=pauses)
def test_no_window_ever_holds_more_than_rate(
    bucket: TokenBucket,
    callers: list[tuple[float, float | None]],
    pauses: list[tuple[float, float]],
) -> None:
    period = bucket.period
    granted: dict[int, float] = {}
    cancelled: set[int] = set()

    async def caller(index: int, arrival: float, cancel_after: float | None) -> None:
        await trio.sleep_until(arrival * period)
        with trio.CancelScope() as scope:
            if cancel_after is not None:
                scope.deadline = trio.current_time() + cancel_after * period
            await bucket.acquire()
            granted[index] = trio.current_time()
        if scope.cancelled_caught:
            cancelled.add(index)

    async def pauser(at: float, seconds: float) -> None:
        await trio.sleep_until(at * period)
        bucket.pause(seconds * period)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index, (arrival, cancel_after) in enumerate(callers):
                nursery.start_soon(caller, index, arrival, cancel_after)
            for at, seconds in pauses:
                nursery.start_soon(pauser, at, seconds)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    times = list(granted.values())
    assert most_in_any_window(times, period + bucket.margin) <= bucket.rate
    assert set(granted) | cancelled == set(range(len(callers)))  # everybody else served
    assert not set(granted) & cancelled  # a cancelled caller took nothing
    assert len(bucket._recent) == min(len(granted), bucket.rate)
    assert bucket.waiting == 0
    # First come, first served: a caller that woke earlier was granted no later.
    order = sorted(granted, key=lambda i: callers[i][0])
    for a, b in itertools.pairwise(order):
        if callers[a][0] * period < callers[b][0] * period:
            assert granted[a] <= granted[b]
