"""Exactly-once recovery rules, as data each ``Operation`` carries.

The rules themselves are written next to the other facts about the operations, in
``codegen/_spec.py``, and generated into ``resources/_generated.py``; ``_exactly_once``
applies them and keeps no table of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import attrs


@attrs.frozen
class CreateRecovery:
    """A create that takes ``custom_id``: where to read it back, what must match."""

    what: str
    read_back: str | None
    """``"resource.operation"`` taking the custom_id; None: the API has no such call."""
    compare: tuple[str, ...]


@attrs.frozen
class CommitRecovery:
    """The second step of a two-step operation: how to tell it was committed."""

    what: str
    read_back: str
    """``"resource.operation"`` taking the commit's first path argument."""
    uncommitted: tuple[str, ...] | None
    """Statuses of the object read back that mean "not committed yet"; None when the
    object cannot tell (the server's refusal of a second commit decides)."""
    remembered: bool = False
    """The commit answers with what its create returned (kept in ``RecoveryMemory``),
    as the API cannot read that object back."""

    def committed(self, found: Any) -> bool:
        """Whether ``found`` (read back) was committed; only when ``uncommitted`` is set."""
        assert self.uncommitted is not None
        return str(found.status) not in self.uncommitted


@attrs.frozen
class Remember:
    """A create whose answer a later commit may need again (``RecoveryMemory``)."""

    what: str


Recovery = CreateRecovery | CommitRecovery | Remember


class RecoveryMemory:
    """Answers kept for a lost commit answer, by id: one per client runtime, bounded."""

    __slots__ = ("_items", "_limit")

    def __init__(self, limit: int = 1024) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._limit = limit

    def keep(self, key: str, value: Any) -> None:
        self._items[key] = value
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def pop(self, key: str) -> Any:
        """The answer kept under ``key`` (None when there is none); forgotten now."""
        return self._items.pop(key, None)
