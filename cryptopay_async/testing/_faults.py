"""``Faults``: what goes wrong in the emulator, and how often."""

from __future__ import annotations

import random
from typing import Any

import attrs

RATES = (
    "error_500_rate",
    "error_503_rate",
    "drop_rate",
    "delay_rate",
    "callback_drop_rate",
    "callback_duplicate_rate",
    "callback_reorder_rate",
)
SECONDS = ("latency", "delay_seconds")


def _probability(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value!r}")


def _seconds(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 3600:
        raise ValueError(f"{attribute.name} must be between 0 and 3600 seconds, not {value!r}")


@attrs.define
class Faults:
    """What goes wrong, and how often. Rates are probabilities per request (0 to 1).

    503s (and maintenance) refuse a request before it is processed; 500s, dropped
    connections and delayed answers happen *after* it was processed, the worst case for a
    client. ``latency`` waits before processing; ``delay_seconds`` (with probability
    ``delay_rate``) waits after it, so a client whose timeout is shorter gives up on a
    request that did go through.

    Callbacks fail on their own rates, rolled once per event: ``callback_drop_rate``
    loses the event for good (no attempt, no retry, as when Cryptopay gives up),
    ``callback_duplicate_rate`` delivers it twice, and ``callback_reorder_rate`` holds
    it back for up to the first retry delay, so events queued after it arrive first.
    """

    latency: float = attrs.field(default=0.0, converter=float, validator=_seconds)
    error_500_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    error_503_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    drop_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    maintenance: bool = False
    seed: int | None = None
    delay_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    delay_seconds: float = attrs.field(default=0.0, converter=float, validator=_seconds)
    callback_drop_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    callback_duplicate_rate: float = attrs.field(
        default=0.0, converter=float, validator=_probability
    )
    callback_reorder_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    _random: random.Random = attrs.field(init=False, factory=random.Random, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._random.seed(self.seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def fraction(self) -> float:
        """A uniform draw in [0, 1) from the seeded generator."""
        return self._random.random()

    def to_json(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name) for field in attrs.fields(Faults) if field.init
        }
