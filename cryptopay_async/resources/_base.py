"""What every resource does with a call: send it, then decode the envelope's ``data``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from cryptopay_async._pagination import AsyncPager, Page
from cryptopay_async._response import decode, envelope

if TYPE_CHECKING:
    from cryptopay_async._client import AsyncCryptopay

T = TypeVar("T")


class Resource:
    """A group of operations (``client.invoices``) bound to one client."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncCryptopay) -> None:
        self._client = client

    async def _fetch(
        self, method: str, target: str, tp: Any, name: str, body: bytes | None = None
    ) -> Any:
        response = await self._client._send(method, target, body)
        return decode(response, envelope(response)["data"], tp, name)

    def _pages(self, path: str, query: dict[str, object], item: type[T]) -> AsyncPager[T]:
        from cryptopay_async._arguments import query_string

        async def fetch(cursor: str | None) -> Page[T]:
            params = {**query, "starting_after": cursor} if cursor else query
            qs = query_string(params)
            response = await self._client._send("GET", f"{path}?{qs}" if qs else path, None)
            body = envelope(response)
            data = decode(response, body["data"], list[item], f"list of {item.__name__}")  # type: ignore[valid-type]
            meta = body.get("meta")
            if not isinstance(meta, dict):
                meta = {}
            total = meta.get("total")
            return Page(
                data=data,
                has_more=meta.get("has_more") is True,
                total=total if isinstance(total, int) and not isinstance(total, bool) else None,
                fetch=fetch,
            )

        return AsyncPager(fetch)
