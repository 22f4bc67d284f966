"""The checks every bucket's settings go through, with errors naming the bad argument."""

from __future__ import annotations

import math


def check_bucket_settings(rate: int, period: float, burst: int | None, margin: float) -> int:
    """Validate ``rate``, ``period``, ``burst`` and ``margin``; returns the effective burst."""
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        raise ValueError(f"rate must be a positive int, got {rate!r}")
    if not (isinstance(period, int | float) and math.isfinite(period) and period > 0):
        raise ValueError(f"period must be a positive number of seconds, got {period!r}")
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a number of seconds >= 0, got {margin!r}")
    if burst is None:
        return rate
    if not isinstance(burst, int) or isinstance(burst, bool) or not 1 <= burst <= rate:
        raise ValueError(f"burst must be an int between 1 and rate ({rate}), got {burst!r}")
    return burst
