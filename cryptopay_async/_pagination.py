"""Cursor pagination: ``await`` for the first page, ``async for`` for every item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")

FetchPage = Callable[[str | None], Awaitable["Page[T]"]]
"""Fetches the page that starts after the given cursor (None: the first page)."""


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
        return await self._fetch(_cursor(self.data[-1]))

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
        return self._fetch(None).__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        page: Page[T] | None = await self._fetch(None)
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()


def _cursor(item: Any) -> str:
    cursor = getattr(item, "id", None)
    if not isinstance(cursor, str):
        raise TypeError(f"{type(item).__name__} has no id to continue the list from")
    return cursor
