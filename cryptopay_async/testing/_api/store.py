"""The emulated account's state: objects by kind, custom ids, balances and the ledger.

Resource modules (``invoices``, ``channels``, ...) keep no state of their own; each
operation is a function of this store and the request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from cryptopay_async.testing._api.errors import JSON, ApiError, invalid, not_found
from cryptopay_async.testing._api.fields import money, timestamp
from cryptopay_async.testing._api.market import Market, starting_accounts

PAGE_SIZE = 50
PROJECT_ID = "cfc93c44-fef3-4ccc-ac8f-090f8e702006"
HOSTED = "https://hosted-business-sandbox.cryptopay.me"
COMMIT_WINDOW = timedelta(seconds=30)
KINDS = (
    "invoices",
    "channels",
    "channel_payments",
    "coin_withdrawals",
    "customers",
    "exchange_transfers",
    "recalculations",
    "refunds",
    "subscriptions",
    "transactions",
)

Answer = tuple[Any, JSON | None]
Handler = Callable[["Store", JSON, JSON, JSON], Answer]


@attrs.define
class LedgerEntry:
    """One movement of money, so a test can assert nothing happened twice."""

    action: str
    reference_type: str
    reference_id: str
    amount: Decimal
    currency: str
    custom_id: str | None
    at: datetime


@attrs.define
class Event:
    """A callback to deliver: ``{"type", "event", "data"}``."""

    type: str
    event: str
    data: JSON


class Store:
    """In-memory objects of one Cryptopay project; ``now`` is the emulator clock."""

    def __init__(
        self, market: Market, now: Callable[[], datetime], emit: Callable[[Event], None]
    ) -> None:
        self.market = market
        self.now = now
        self._emit = emit
        self.accounts: dict[str, JSON] = starting_accounts()
        self.objects: dict[str, dict[str, JSON]] = {kind: {} for kind in KINDS}
        self.by_custom_id: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.created: dict[str, datetime] = {}
        self.committed: set[str] = set()
        self.ledger: list[LedgerEntry] = []
        self.expiries: list[tuple[datetime, str]] = []  # heap of (expires_at, invoice id)

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def add(self, kind: str, obj: JSON, custom_id: str | None = None) -> JSON:
        if custom_id is not None:
            if custom_id in self.by_custom_id[kind]:
                raise ApiError(409, "duplicate_custom_id", "duplicate custom id")
            self.by_custom_id[kind][custom_id] = obj["id"]
        self.objects[kind][obj["id"]] = obj
        self.created[obj["id"]] = self.now()
        return obj

    def get(self, kind: str, object_id: str) -> JSON:
        obj = self.objects[kind].get(object_id)
        if obj is None:
            raise not_found()
        return obj

    def get_by_custom_id(self, kind: str, custom_id: str) -> JSON:
        object_id = self.by_custom_id[kind].get(custom_id)
        if object_id is None:
            raise not_found()
        return self.objects[kind][object_id]

    def page(self, kind: str, query: JSON, keep: Callable[[JSON], bool] = lambda o: True) -> Answer:
        """Newest first, 50 a page after the ``starting_after`` cursor, with the total."""
        items = [o for o in reversed(self.objects[kind].values()) if keep(o)]
        cursor = query.get("starting_after")
        start = 0
        if cursor:
            positions = [i for i, o in enumerate(items) if o["id"] == cursor]
            if not positions:
                raise not_found()
            start = positions[0] + 1
        chunk = items[start : start + PAGE_SIZE]
        return chunk, {"total": len(items), "has_more": start + PAGE_SIZE < len(items)}

    def emit(self, kind: str, event: str, obj: JSON) -> None:
        """Queue a callback carrying a snapshot of ``obj`` as it is now."""
        self._emit(Event(kind, event, json.loads(json.dumps(obj))))

    def move(
        self,
        action: str,
        ref_type: str,
        obj: JSON,
        amount: Decimal,
        currency: str,
        status: str | None,
        fee: Decimal = Decimal(0),
    ) -> None:
        """Change a balance, write a ledger entry and a ledger transaction row."""
        account = self.accounts.setdefault(
            currency,
            {"id": self.new_id(), "balance": "0.0", "currency": currency, "project_id": PROJECT_ID},
        )
        balance = Decimal(account["balance"]) + amount
        account["balance"] = money(balance)
        now = self.now()
        self.ledger.append(
            LedgerEntry(action, ref_type, obj["id"], amount, currency, obj.get("custom_id"), now)
        )
        row = {
            "id": self.new_id(),
            "custom_id": obj.get("custom_id"),
            "customer_id": obj.get("customer_id"),
            "amount": money(amount),
            "currency": currency,
            "balance": money(balance),
            "fee": money(fee),
            "fee_currency": currency,
            "reference_id": obj["id"],
            "reference_type": ref_type,
            "description": None,
            "status": status,
            "status_context": None,
            "risk": None,
            "created_at": timestamp(now),
        }
        self.add("transactions", row)

    def balance(self, currency: str) -> Decimal:
        return Decimal(self.accounts.get(currency, {"balance": "0"})["balance"])

    def commit_once(self, obj: JSON) -> None:
        """The second step of a two-step operation: once, and within 30 seconds."""
        if obj["id"] in self.committed:
            raise ApiError(409, "already_committed", "already committed")
        if self.now() - self.created[obj["id"]] > COMMIT_WINDOW:
            raise invalid("id", "expired", "commit window of 30 seconds has passed")


def reader(kind: str, param: str) -> Handler:
    """``retrieve``: one object by the id in path parameter ``param``."""

    def retrieve(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
        return store.get(kind, p[param]), None

    return retrieve


def custom_id_reader(kind: str) -> Handler:
    """``retrieve_by_custom_id``."""

    def retrieve_by_custom_id(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
        return store.get_by_custom_id(kind, p["custom_id"]), None

    return retrieve_by_custom_id


def lister(kind: str, *filters: str) -> Handler:
    """``list``: a page, keeping objects whose ``filters`` fields equal the query's."""

    def list_(store: Store, p: JSON, q: JSON, b: JSON) -> Answer:
        wanted = {f: q[f] for f in filters if q.get(f)}
        return store.page(kind, q, lambda o: all(o[f] == v for f, v in wanted.items()))

    return list_
