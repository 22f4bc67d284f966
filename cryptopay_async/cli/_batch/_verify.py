"""``--verify``: check the rows an earlier run recorded as done against the API's lists.

One list page (50 objects, newest first) checks up to 50 rows at once, so verifying
costs about one request per 50 objects listed, not one per row; the walk stops as soon
as every recorded id has been seen. A recorded row whose id the API does not list, or
lists with another ``custom_id``, is reported and counted as not done: the run then
settles it through its ``custom_id`` (a create answered 409 is read back and checked),
which never creates anything twice.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from cryptopay_async import AsyncCryptopay
from cryptopay_async.cli._batch._results import Store


@attrs.frozen
class Verified:
    checked: int  # rows recorded as done
    listed: int  # objects read from list pages
    unknown: list[tuple[int, str]]  # (row, custom_id) the API does not know as recorded


async def verify(
    api: AsyncCryptopay, kind: Literal["invoices", "payouts"], store: Store
) -> Verified:
    """Check every done row in ``store`` and forget those the API does not confirm."""
    checked = store.start_verifying()
    remaining, listed = checked, 0
    pager: Any = api.invoices.list() if kind == "invoices" else api.coin_withdrawals.list()
    if remaining:
        async for item in pager:
            listed += 1
            if store.confirm(str(item.id), str(getattr(item, "custom_id", "") or "")):
                remaining -= 1
                if remaining == 0:
                    break
    return Verified(checked, listed, store.forget_unconfirmed())
