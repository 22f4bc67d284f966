"""Cursor pagination: ``await`` for the first page, ``async for`` for every item.

A server or cache that repeats a page with ``has_more: true`` would make ``async for``
yield the same items forever: each page is checked not to end at an item the walk has
already continued from (``stalled``), and the walk stops with an error when it does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Generator
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")
MAX_CURSOR = 200
"""Longest item id a walk continues from: Cryptopay's are 36-character UUIDs, and a
longer one would go out in the next request's URL (httpx refuses URLs over 64 KB)."""

FetchPage = Callable[[str | None, Collection[str]], Awaitable["Page[T]"]]
"""Fetches the page that starts after the cursor (None: the first page); the collection
holds the cursors this walk already followed, which the page must not end at."""


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: up to 50 items, newest first."""

    data: list[T]
    has_more: bool
    total: int | None
    _fetch: FetchPage[T] = attrs.field(repr=False, eq=False, alias="fetch")

    async def next_page(self) -> Page[T] | None:
        """The following page (one request through the limiter), or None after the last."""
        if not self.has_more or not self.data:
            return None
        cursor = _cursor(self.data[-1])
        return await self._fetch(cursor, (cursor,))

    def __len__(self) -> int:
        return len(self.data)


class AsyncPager(Generic[T]):
    """What a list operation returns: awaitable (first page) and async-iterable (all items).

    Iteration is lazy: the next page is requested only when the loop has used up the
    current one, following ``starting_after=<id of the last item>``.
    """

    __slots__ = ("_fetch",)

    def __init__(self, fetch: FetchPage[T]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(None, ()).__await__()

    async def page_after(self, cursor: str | None) -> Page[T]:
        """The page that starts after the item ``cursor`` (None: the first page).

        For a walk that stops and resumes later, e.g. from a saved checkpoint.
        """
        return await self._fetch(cursor, () if cursor is None else (cursor,))

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        followed: set[str] = set()
        page = await self._fetch(None, followed)
        while True:
            for item in page.data:
                yield item
            if not page.has_more or not page.data:
                return
            cursor = _cursor(page.data[-1])
            followed.add(cursor)
            page = await self._fetch(cursor, followed)


def stalled(items: list[Any], has_more: bool, followed: Collection[str]) -> str | None:
    """Why following this page would not advance the walk, or None when it would."""
    if not has_more:
        return None
    if not items:
        return "is empty but says has_more"
    cursor = _cursor(items[-1])
    if cursor in followed:
        return f"ends at {cursor[:60]!r} again (a repeated page) but says has_more"
    if len(cursor) > MAX_CURSOR:
        return f"ends at an id of {len(cursor)} characters, too long to continue from"
    return None


def _cursor(item: Any) -> str:
    cursor = getattr(item, "id", None)
    if not isinstance(cursor, str):
        raise TypeError(f"{type(item).__name__} has no id to continue the list from")
    return cursor
