"""Accounts (balances per currency) and the transactions ledger they list."""

from __future__ import annotations

from datetime import datetime

from cryptopay_async.testing._api.errors import JSON, not_found
from cryptopay_async.testing._api.fields import when
from cryptopay_async.testing._api.store import Answer, Store


def accounts_list(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    data = list(store.accounts.values())
    return data, {"total": len(data), "has_more": False}


def accounts_list_transactions(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    account = next((a for a in store.accounts.values() if a["id"] == p["account_id"]), None)
    if account is None:
        raise not_found()
    return store.page("transactions", q, lambda t: t["currency"] == account["currency"])


def transactions_list(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
    def keep(row: JSON) -> bool:
        for field in ("reference_type", "currency", "status"):
            if q.get(field) and row[field] != q[field]:
                return False
        if q.get("risk_level") and (row["risk"] or {}).get("level") != q["risk_level"]:
            return False
        created = datetime.fromisoformat(row["created_at"])
        if q.get("created_at_from") and created < when(q, "created_at_from"):
            return False
        return not (q.get("created_at_to") and created > when(q, "created_at_to"))

    return store.page("transactions", q, keep)


OPERATIONS = {
    "accounts.list": accounts_list,
    "accounts.list_transactions": accounts_list_transactions,
    "transactions.list": transactions_list,
}
