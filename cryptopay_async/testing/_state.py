"""The emulated API's state and its 40 operations, answering with recorded payload shapes."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from importlib import resources
from typing import Any

import attrs

JSON = dict[str, Any]
PAGE_SIZE = 50
PROJECT_ID = "cfc93c44-fef3-4ccc-ac8f-090f8e702006"
HOSTED = "https://hosted-business-sandbox.cryptopay.me"
FIAT = {"EUR", "USD", "GBP", "JPY", "CNY", "RUB", "TRY", "UAH", "AUD", "CAD", "CHF"}
COMMIT_WINDOW = timedelta(seconds=30)


def _data(name: str) -> Any:
    """A recorded answer from ``data/`` (the shared fixtures, verbatim; tests read them too)."""
    return json.loads(
        resources.files("cryptopay_async.testing").joinpath(f"data/{name}").read_text()
    )


class ApiError(Exception):
    """An error answer with the documented ``{"error": {...}}`` payload."""

    def __init__(self, status: int, code: str, message: str, details: list[JSON] | None = None):
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def not_in_list(target: str, allowed: list[str]) -> ApiError:
    return invalid(target, "must_be_included_in", "must be included in list", list=allowed)


def invalid(target: str, code: str, message: str, **args: Any) -> ApiError:
    detail = {"code": code, "target": target, "message": message, "args": args}
    return ApiError(422, "invalid", "invalid", [detail])


def not_found() -> ApiError:
    return ApiError(404, "not_found", "not found")


def money(value: Decimal) -> str:
    """Decimals as the API writes them: no exponent, no trailing zeros, at least ``.0``."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def timestamp(when: datetime, *, zulu: bool = False) -> str:
    text = when.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


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


class EmulatedApi:
    """In-memory Cryptopay: create, read, list, commit, and move money with a ledger."""

    def __init__(self, now: Callable[[], datetime], on_event: Callable[[Event], None]) -> None:
        self.now = now
        self.on_event = on_event
        self.rates: dict[str, JSON] = _data("responses-2023/rates/all.json")["data"]
        self.coins: list[JSON] = _data("responses-2023/coins/list.json")["data"]
        self.network_fees: list[JSON] = _data(
            "responses-2023/coin_withdrawals/list_network_fees.json"
        )["data"]
        self.precision = {coin["currency"]: coin["networks"][0]["precision"] for coin in self.coins}
        self.default_network = {
            coin["currency"]: coin["networks"][0]["network"] for coin in self.coins
        }
        self.networks = {c["currency"]: {n["network"] for n in c["networks"]} for c in self.coins}
        self.accounts: dict[str, JSON] = {
            a["currency"]: dict(a) for a in _data("responses-2023/accounts/list.json")["data"]
        }
        for currency, balance in {"EUR": "100000.0", "BTC": "10.0", "USDT": "100000.0"}.items():
            self.accounts[currency]["balance"] = balance
        self.objects: dict[str, dict[str, JSON]] = {
            kind: {}
            for kind in (
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
        }
        self.by_custom_id: dict[str, dict[str, str]] = {k: {} for k in self.objects}
        self.created: dict[str, datetime] = {}
        self.committed: set[str] = set()
        self.ledger: list[LedgerEntry] = []

    # ---- helpers -------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(uuid.uuid4())

    def _store(self, kind: str, obj: JSON, custom_id: str | None = None) -> JSON:
        if custom_id is not None:
            if custom_id in self.by_custom_id[kind]:
                raise ApiError(409, "duplicate_custom_id", "duplicate custom id")
            self.by_custom_id[kind][custom_id] = obj["id"]
        self.objects[kind][obj["id"]] = obj
        self.created[obj["id"]] = self.now()
        return obj

    def _get(self, kind: str, object_id: str) -> JSON:
        obj = self.objects[kind].get(object_id)
        if obj is None:
            raise not_found()
        return obj

    def _by_custom_id(self, kind: str, custom_id: str) -> JSON:
        object_id = self.by_custom_id[kind].get(custom_id)
        if object_id is None:
            raise not_found()
        return self.objects[kind][object_id]

    def page(
        self, kind: str, query: JSON, keep: Callable[[JSON], bool] = lambda o: True
    ) -> tuple[list[JSON], JSON]:
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

    def rate(self, base: str, quote: str) -> Decimal:
        if base == quote:
            return Decimal(1)
        pair = self.rates.get(f"{base}/{quote}")
        if pair is None:
            raise invalid("currency", "unsupported_pair", f"{base}/{quote} is not supported")
        return Decimal(pair["buy_rate"])

    def crypto_amount(self, value: Decimal, currency: str) -> Decimal:
        places = Decimal(1).scaleb(-self.precision.get(currency, 8))
        return value.quantize(places, rounding=ROUND_DOWN)

    def fiat_amount(self, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    def amount_in(self, value: Decimal, currency: str) -> Decimal:
        return self.fiat_amount(value) if currency in FIAT else self.crypto_amount(value, currency)

    def currency(self, body: JSON, field: str, *, crypto: bool = False) -> str:
        value = body.get(field)
        allowed = sorted(self.precision) if crypto else sorted(FIAT | set(self.precision))
        if value not in allowed:
            raise not_in_list(field, allowed)
        return str(value)

    def network(self, body: JSON, currency: str) -> str:
        network = body.get("network") or self.default_network[currency]
        if network not in self.networks[currency]:
            allowed = sorted(self.networks[currency])
            raise not_in_list("network", allowed)
        return str(network)

    def exchange(self, pay: str, price: str, fee: Decimal = Decimal(0)) -> JSON:
        return {
            "pair": f"{pay}{price}",
            "rate": money(self.rate(pay, price)),
            "fee": money(fee),
            "fee_currency": price,
        }

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
            {
                "id": self._new_id(),
                "balance": "0.0",
                "currency": currency,
                "project_id": PROJECT_ID,
            },
        )
        balance = Decimal(account["balance"]) + amount
        account["balance"] = money(balance)
        now = self.now()
        self.ledger.append(
            LedgerEntry(action, ref_type, obj["id"], amount, currency, obj.get("custom_id"), now)
        )
        row = {
            "id": self._new_id(),
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
        self._store("transactions", row)

    def emit(self, kind: str, event: str, obj: JSON) -> None:
        self.on_event(Event(kind, event, json.loads(json.dumps(obj))))

    def _in_window(self, obj: JSON) -> None:
        if self.now() - self.created[obj["id"]] > COMMIT_WINDOW:
            raise invalid("id", "expired", "commit window of 30 seconds has passed")

    # ---- accounts, transactions, rates, coins, risks -------------------------------

    def accounts_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        data = list(self.accounts.values())
        return data, {"total": len(data), "has_more": False}

    def accounts_list_transactions(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        account = next((a for a in self.accounts.values() if a["id"] == p["account_id"]), None)
        if account is None:
            raise not_found()
        return self.page("transactions", q, lambda t: t["currency"] == account["currency"])

    def transactions_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        def keep(row: JSON) -> bool:
            for field in ("reference_type", "currency", "status"):
                if q.get(field) and row[field] != q[field]:
                    return False
            if q.get("risk_level") and (row["risk"] or {}).get("level") != q["risk_level"]:
                return False
            created = datetime.fromisoformat(row["created_at"])
            if q.get("created_at_from") and created < _when(q, "created_at_from"):
                return False
            return not (q.get("created_at_to") and created > _when(q, "created_at_to"))

        return self.page("transactions", q, keep)

    def rates_all(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self.rates, None

    def rates_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        pair = self.rates.get(f"{p['base_currency']}/{p['quote_currency']}")
        if pair is None:
            raise not_found()
        return pair, None

    def coins_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self.coins, None

    def risks_score(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        currency = b.get("currency")
        allowed = ["BTC", "LTC", "XRP", "ETH", "BCH"]
        if currency not in allowed:
            raise not_in_list("currency", allowed)
        risky = str(b.get("address", "")).startswith("risky")
        level, score = ("high", 9.1) if risky else ("medium", 7.5)
        data = {
            "score": score,
            "level": level,
            "resource_name": "default",
            "resource_category": "unknown",
        }
        return data, None

    # ---- invoices --------------------------------------------------------------------

    def invoices_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        price = positive(b, "price_amount")
        price_currency = self.currency(b, "price_currency")
        pay_currency = self.currency(b, "pay_currency", crypto=True)
        network = self.network(b, pay_currency)
        rate = self.rate(pay_currency, price_currency)
        pay_amount = self.crypto_amount(price / rate, pay_currency)
        invoice_id = self._new_id()
        address = _address(network)
        now = self.now()
        lifetime = timedelta(minutes=10) if price_currency in FIAT else timedelta(hours=2)
        invoice: JSON = {
            "id": invoice_id,
            "custom_id": b.get("custom_id"),
            "customer_id": b.get("customer_id"),
            "subscription_id": None,
            "status": "new",
            "status_context": None,
            "address": address,
            "network": network,
            "uri": f"{network}:{address}?amount={money(pay_amount)}",
            "price_amount": money(price),
            "price_currency": price_currency,
            "pay_amount": money(pay_amount),
            "pay_currency": pay_currency,
            "fee": money(self.amount_in(price / 100, price_currency)),
            "fee_currency": price_currency,
            "paid_amount": "0.0",
            "exchange": self.exchange(pay_currency, price_currency),
            "transactions": [],
            "name": b.get("name"),
            "description": b.get("description"),
            "metadata": b.get("metadata"),
            "success_redirect_url": b.get("success_redirect_url"),
            "unsuccess_redirect_url": b.get("unsuccess_redirect_url"),
            "hosted_page_url": f"{HOSTED}/invoices/{invoice_id}",
            "created_at": timestamp(now),
            "expires_at": timestamp(now + lifetime),
        }
        if pay_currency == price_currency:
            del invoice["exchange"]
        self._store("invoices", invoice, b.get("custom_id"))
        self.emit("Invoice", "created", invoice)
        return invoice, None

    def invoices_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("invoices", p["invoice_id"]), None

    def invoices_retrieve_by_custom_id(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._by_custom_id("invoices", p["custom_id"]), None

    def invoices_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        def keep(invoice: JSON) -> bool:
            return all(
                not q.get(field) or invoice[field] == q[field]
                for field in ("customer_id", "subscription_id")
            )

        return self.page("invoices", q, keep)

    def pay_invoice(self, invoice_id: str, amount: Decimal | None, *, late: bool) -> JSON:
        """A payment arrives on-chain and is confirmed: statuses move as the docs describe."""
        invoice = self._get("invoices", invoice_id)
        if invoice["status"] != "new":
            raise ValueError(f"invoice {invoice_id} is {invoice['status']}, not new")
        paid = Decimal(invoice["paid_amount"]) + (
            Decimal(invoice["pay_amount"]) if amount is None else amount
        )
        invoice["paid_amount"] = money(paid)
        invoice["transactions"].append({"txid": secrets.token_hex(32), "risk": None})
        self.emit("Invoice", "transaction_created", invoice)
        self.emit("Invoice", "transaction_confirmed", invoice)
        due = Decimal(invoice["pay_amount"])
        if late:
            invoice["status"], invoice["status_context"] = "unresolved", "paid_late"
        elif paid < due:
            invoice["status"], invoice["status_context"] = "unresolved", "underpaid"
        elif paid > due:
            invoice["status"], invoice["status_context"] = "unresolved", "overpaid"
        else:
            invoice["status"] = "completed"
            self._credit_invoice(invoice)
        self.emit("Invoice", "status_changed", invoice)
        return invoice

    def _credit_invoice(self, invoice: JSON) -> None:
        fee = Decimal(invoice["fee"])
        credited = Decimal(invoice["price_amount"]) - fee
        self.move(
            "invoice_paid",
            "Invoice",
            invoice,
            credited,
            invoice["price_currency"],
            invoice["status"],
            fee,
        )

    def invoices_create_recalculation(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        invoice = self._get("invoices", p["invoice_id"])
        if invoice["status"] != "unresolved":
            raise invalid("invoice_id", "invalid_status", "invoice must be unresolved")
        pay, price_currency = invoice["pay_currency"], invoice["price_currency"]
        rate = self.rate(pay, price_currency)
        paid = Decimal(invoice["paid_amount"])
        new_price = self.amount_in(paid * rate, price_currency)
        recalculation: JSON = {
            "id": self._new_id(),
            "invoice_id": invoice["id"],
            "pay_amount": money(paid),
            "pay_currency": pay,
            "price_amount": money(new_price),
            "price_currency": price_currency,
            "fee": money(self.amount_in(new_price / 100, price_currency)),
            "fee_currency": price_currency,
            "previous_pay_amount": invoice["pay_amount"],
            "previous_price_amount": invoice["price_amount"],
            "previous_exchange_rate": (invoice.get("exchange") or {}).get("rate"),
            "exchange": self.exchange(pay, price_currency),
            "created_at": timestamp(self.now(), zulu=not b.get("force_commit")),
        }
        self._store("recalculations", recalculation)
        if b.get("force_commit"):
            self._apply_recalculation(recalculation)
        return recalculation, None

    def invoices_commit_recalculation(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        recalculation = self._get("recalculations", p["recalculation_id"])
        if recalculation["invoice_id"] != p["invoice_id"]:
            raise not_found()
        self._commit_once(recalculation)
        self._in_window(recalculation)
        self._apply_recalculation(recalculation)
        return recalculation, None

    def _apply_recalculation(self, recalculation: JSON) -> None:
        self.committed.add(recalculation["id"])
        recalculation["created_at"] = recalculation["created_at"].replace("Z", "+00:00")
        invoice = self._get("invoices", recalculation["invoice_id"])
        for field in ("pay_amount", "price_amount", "fee"):
            invoice[field] = recalculation[field]
        invoice["exchange"] = recalculation["exchange"]
        invoice["status"], invoice["status_context"] = "completed", None
        self._credit_invoice(invoice)
        self.emit("Invoice", "recalculated", invoice)
        self.emit("Invoice", "status_changed", invoice)

    def invoices_create_refund(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        invoice = self._get("invoices", p["invoice_id"])
        if invoice["status"] != "unresolved":
            raise invalid("invoice_id", "invalid_status", "invoice must be unresolved")
        pay = invoice["pay_currency"]
        paid, due = Decimal(invoice["paid_amount"]), Decimal(invoice["pay_amount"])
        amount = paid - due if invoice["status_context"] == "overpaid" else paid
        fee = self.crypto_amount(amount / 100, pay)
        refund: JSON = {
            "id": self._new_id(),
            "custom_id": None,
            "invoice_id": invoice["id"],
            "amount": money(amount),
            "amount_currency": pay,
            "fee": money(fee),
            "fee_currency": pay,
            "address": b.get("address"),
            "txid": None,
            "risk": None,
            "created_at": timestamp(self.now()),
            "network": invoice["network"],
        }
        self._store("refunds", refund)
        if invoice["status_context"] == "overpaid":
            invoice["status"], invoice["status_context"] = "completed", None
            self._credit_invoice(invoice)
        else:
            invoice["status"], invoice["status_context"] = "refunded", None
        self.ledger.append(
            LedgerEntry(
                "refund_sent", "InvoiceRefund", refund["id"], -amount, pay, None, self.now()
            )
        )
        self.emit("Invoice", "refunded", invoice)
        self.emit("Invoice", "status_changed", invoice)
        return refund, None

    def invoices_list_refunds(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        self._get("invoices", p["invoice_id"])
        refunds = [
            r for r in self.objects["refunds"].values() if r["invoice_id"] == p["invoice_id"]
        ]
        return refunds, None

    # ---- channels --------------------------------------------------------------------

    def channels_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        name = required_text(b, "name")
        pay = self.currency(b, "pay_currency", crypto=True)
        receiver = self.currency(b, "receiver_currency")
        network = self.network(b, pay)
        channel_id = self._new_id()
        address = _address(network)
        channel: JSON = {
            "id": channel_id,
            "status": "enabled",
            "name": name,
            "description": b.get("description"),
            "receiver_currency": receiver,
            "pay_currency": pay,
            "address": address,
            "network": network,
            "project_id": PROJECT_ID,
            "custom_id": b.get("custom_id"),
            "customer_id": b.get("customer_id"),
            "uri": f"{network}:{address}",
            "hosted_page_url": f"{HOSTED}/channels/{channel_id}",
        }
        return self._store("channels", channel, b.get("custom_id")), None

    def channels_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("channels", p["channel_id"]), None

    def channels_retrieve_by_custom_id(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._by_custom_id("channels", p["custom_id"]), None

    def channels_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        customer = q.get("customer_id")
        return self.page("channels", q, lambda c: not customer or c["customer_id"] == customer)

    def channels_update(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        channel = self._get("channels", p["channel_id"])
        if "status" in b and b["status"] not in ("enabled", "disabled"):
            raise not_in_list("status", ["enabled", "disabled"])
        for field in ("name", "description", "status", "customer_id"):
            if field in b:
                channel[field] = b[field]
        return channel, None

    def channels_list_payments(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        self._get("channels", p["channel_id"])
        items, meta = self.page("channel_payments", q, lambda x: x["channel_id"] == p["channel_id"])
        # As recorded: list items carry no `exchange`, retrieve_payment does.
        return [{k: v for k, v in item.items() if k != "exchange"} for item in items], meta

    def channels_retrieve_payment(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        payment = self._get("channel_payments", p["channel_payment_id"])
        if payment["channel_id"] != p["channel_id"]:
            raise not_found()
        return payment, None

    def pay_channel(self, channel_id: str, amount: Decimal) -> JSON:
        """A transfer to a channel's address: created, then completed (or held if disabled)."""
        channel = self._get("channels", channel_id)
        pay, receiver = channel["pay_currency"], channel["receiver_currency"]
        gross = self.amount_in(amount * self.rate(pay, receiver), receiver)
        fee = self.amount_in(gross / 100, receiver)
        payment: JSON = {
            "id": self._new_id(),
            "paid_amount": money(amount),
            "paid_currency": pay,
            "received_amount": money(gross - fee),
            "received_currency": receiver,
            "fee": money(fee),
            "fee_currency": receiver,
            "txid": secrets.token_hex(32),
            "exchange": self.exchange(pay, receiver),
            "status": "pending",
            "status_context": None,
            "refund_address": None,
            "coin_withdrawal_id": None,
            "custom_id": channel["custom_id"],
            "customer_id": channel["customer_id"],
            "channel_id": channel_id,
            "address": channel["address"],
            "network": channel["network"],
            "risk": None,
            "created_at": timestamp(self.now()),
        }
        self._store("channel_payments", payment)
        self.emit("ChannelPayment", "created", payment)
        if channel["status"] == "disabled":
            payment["status"], payment["status_context"] = "on_hold", "channel_disabled"
            self.emit("ChannelPayment", "on_hold", payment)
        else:
            payment["status"] = "completed"
            self.move(
                "channel_payment_received",
                "ChannelPayment",
                payment,
                gross - fee,
                receiver,
                "completed",
                fee,
            )
            self.emit("ChannelPayment", "completed", payment)
        return payment

    # ---- coin withdrawals ------------------------------------------------------------

    def coin_withdrawals_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        address = required_text(b, "address")
        if address.startswith("risky"):
            raise ApiError(422, "high_risk_address", HIGH_RISK_MESSAGE)
        charged_currency = self.currency(b, "charged_currency")
        received_currency = self.currency(b, "received_currency", crypto=True)
        network = self.network(b, received_currency)
        given = [
            f
            for f in ("charged_amount", "charged_amount_to_send", "received_amount")
            if b.get(f) is not None
        ]
        if len(given) != 1:
            raise invalid("charged_amount", "exactly_one", "give exactly one amount")
        rate = self.rate(received_currency, charged_currency)
        level = b.get("network_fee_level") or "average"
        network_fee = self._network_fee(received_currency, level)
        fee = (
            self.amount_in(Decimal(1), charged_currency) if charged_currency in FIAT else Decimal(0)
        )
        if given[0] == "received_amount":
            received = positive(b, "received_amount")
            charged = self.amount_in(received * rate + fee, charged_currency)
        else:
            charged = positive(b, given[0])
            if given[0] == "charged_amount_to_send":
                charged = charged + fee
            received = self.crypto_amount((charged - fee) / rate - network_fee, received_currency)
        if charged_currency in FIAT and charged < Decimal(5):
            raise invalid(
                given[0],
                "must_be_greater_than_or_equal",
                "must be greater than or equal to 5.0",
                value="5.0",
            )
        balance = Decimal(self.accounts.get(charged_currency, {"balance": "0"})["balance"])
        if charged > balance:
            raise invalid(
                given[0],
                "must_be_less_than_or_equal",
                f"must be less than or equal to {money(balance)}",
                value=money(balance),
            )
        force = bool(b.get("force_commit"))
        withdrawal: JSON = {
            "id": self._new_id(),
            "custom_id": b.get("custom_id"),
            "customer_id": b.get("customer_id"),
            "address": address,
            "network": network,
            "txid": None,
            "status": "pending" if force else "new",
            "charged_amount": money(charged),
            "charged_currency": charged_currency,
            "received_amount": money(received),
            "received_currency": received_currency,
            "network_fee": money(network_fee),
            "network_fee_level": level,
            "fee": "0.0",
            "fee_currency": received_currency,
            "description": None,
            "exchange": self.exchange(received_currency, charged_currency, fee),
            "risk": None,
            "created_at": timestamp(self.now(), zulu=not force),
        }
        self._store("coin_withdrawals", withdrawal, b.get("custom_id"))
        if force:
            self._debit_withdrawal(withdrawal)
        self.emit("CoinWithdrawal", "created", withdrawal)
        return withdrawal, None

    def _network_fee(self, currency: str, level: str) -> Decimal:
        for fee in self.network_fees:
            if fee["currency"] == currency and fee["level"] == level:
                return Decimal(fee["fee"])
        return Decimal(0)

    def _debit_withdrawal(self, withdrawal: JSON) -> None:
        self.committed.add(withdrawal["id"])
        withdrawal["created_at"] = withdrawal["created_at"].replace("Z", "+00:00")
        self.move(
            "coin_withdrawal_sent",
            "CoinWithdrawal",
            withdrawal,
            -Decimal(withdrawal["charged_amount"]),
            withdrawal["charged_currency"],
            withdrawal["status"],
        )

    def _commit_once(self, obj: JSON) -> None:
        if obj["id"] in self.committed:
            raise ApiError(409, "already_committed", "already committed")

    def coin_withdrawals_commit(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        withdrawal = self._get("coin_withdrawals", p["coin_withdrawal_id"])
        self._commit_once(withdrawal)
        self._in_window(withdrawal)
        withdrawal["status"] = "pending"
        self._debit_withdrawal(withdrawal)
        self.emit("CoinWithdrawal", "status_changed", withdrawal)
        return withdrawal, None

    def complete_withdrawal(self, withdrawal_id: str) -> JSON:
        """The payout is broadcast and confirmed: ``pending`` → ``completed`` with a txid."""
        withdrawal = self._get("coin_withdrawals", withdrawal_id)
        if withdrawal["status"] != "pending":
            raise ValueError(f"withdrawal {withdrawal_id} is {withdrawal['status']}, not pending")
        withdrawal["status"], withdrawal["txid"] = "completed", secrets.token_hex(32)
        self.emit("CoinWithdrawal", "status_changed", withdrawal)
        return withdrawal

    def coin_withdrawals_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("coin_withdrawals", p["coin_withdrawal_id"]), None

    def coin_withdrawals_retrieve_by_custom_id(
        self, p: JSON, q: JSON, b: JSON
    ) -> tuple[Any, JSON | None]:
        return self._by_custom_id("coin_withdrawals", p["custom_id"]), None

    def coin_withdrawals_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        customer = q.get("customer_id")
        return self.page(
            "coin_withdrawals", q, lambda w: not customer or w["customer_id"] == customer
        )

    def coin_withdrawals_list_network_fees(
        self, p: JSON, q: JSON, b: JSON
    ) -> tuple[Any, JSON | None]:
        if q.get("all_networks") == "true":
            return self.network_fees, None
        defaults = [
            f
            for f in self.network_fees
            if f["network"] == self.default_network.get(f["currency"], f["network"])
        ]
        return defaults, None

    # ---- customers -------------------------------------------------------------------

    def _addresses(self, b: JSON) -> list[JSON]:
        addresses = b.get("addresses") or []
        for index, item in enumerate(addresses):
            target = f"addresses[{index}]"
            if not isinstance(item, dict) or not {"address", "currency", "network"} <= set(item):
                raise invalid(target, "invalid_address", "needs address, currency and network")
            if (
                item["currency"] not in self.networks
                or item["network"] not in self.networks[item["currency"]]
            ):
                raise invalid(
                    target, "invalid_coin_address", "is invalid", currency=item["currency"]
                )
        return [dict(a) for a in addresses]

    def customers_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        customer_id = required_text(b, "id")
        if customer_id in self.objects["customers"]:
            raise ApiError(409, "duplicate_id", "duplicate id")
        addresses = self._addresses(b)
        customer: JSON = {
            "id": customer_id,
            "currency": self.currency(b, "currency"),
            "refund_addresses": {a["currency"]: a["address"] for a in addresses},
            "addresses": addresses,
        }
        return self._store("customers", customer), None

    def customers_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("customers", p["customer_id"]), None

    def customers_update(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        customer = self._get("customers", p["customer_id"])
        if "currency" in b:
            customer["currency"] = self.currency(b, "currency")
        if "addresses" in b:
            customer["addresses"] = self._addresses(b)  # replaces the list
            customer["refund_addresses"] = {
                a["currency"]: a["address"] for a in customer["addresses"]
            }
        return customer, None

    def customers_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self.page("customers", q)

    # ---- exchange transfers ------------------------------------------------------------

    def exchange_transfers_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        charged_currency = self.currency(b, "charged_currency")
        received_currency = self.currency(b, "received_currency")
        given = [f for f in ("charged_amount", "received_amount") if b.get(f) is not None]
        if len(given) != 1:
            raise invalid("charged_amount", "exactly_one", "give exactly one amount")
        fee = Decimal(1) if charged_currency in FIAT else Decimal(0)
        if received_currency in FIAT:
            rate = Decimal(1) / self.rate(charged_currency, received_currency)
            pair = (charged_currency, received_currency)
        else:
            rate = self.rate(received_currency, charged_currency)
            pair = (received_currency, charged_currency)
        if given[0] == "charged_amount":
            charged = positive(b, "charged_amount")
            received = self.amount_in((charged - fee) / rate, received_currency)
        else:
            received = positive(b, "received_amount")
            charged = self.amount_in(received * rate + fee, charged_currency)
        force = bool(b.get("force_commit"))
        transfer: JSON = {
            "id": self._new_id(),
            "charged_amount": money(charged),
            "charged_currency": charged_currency,
            "received_amount": money(received),
            "received_currency": received_currency,
            "custom_id": b.get("custom_id"),
            "exchange": self.exchange(pair[0], pair[1], fee),
        }
        self._store("exchange_transfers", transfer, b.get("custom_id"))
        if force:
            self._apply_transfer(transfer)
        return transfer, None

    def _apply_transfer(self, transfer: JSON) -> None:
        self.committed.add(transfer["id"])
        self.move(
            "exchange_debit",
            "ExchangeTransfer",
            transfer,
            -Decimal(transfer["charged_amount"]),
            transfer["charged_currency"],
            None,
        )
        self.move(
            "exchange_credit",
            "ExchangeTransfer",
            transfer,
            Decimal(transfer["received_amount"]),
            transfer["received_currency"],
            None,
        )

    def exchange_transfers_commit(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        transfer = self._get("exchange_transfers", p["exchange_transfer_id"])
        self._commit_once(transfer)
        self._in_window(transfer)
        self._apply_transfer(transfer)
        return transfer, None

    def exchange_transfers_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("exchange_transfers", p["exchange_transfer_id"]), None

    # ---- subscriptions ---------------------------------------------------------------

    def subscriptions_create(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        name = required_text(b, "name")
        amount = positive(b, "amount")
        period = b.get("period")
        if period not in ("day", "week", "month", "year"):
            raise not_in_list("period", ["day", "week", "month", "year"])
        quantity = b.get("period_quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid(
                "period_quantity",
                "must_be_greater_than_or_equal",
                "must be greater than or equal to 1",
                value=1,
            )
        starts = _when(b, "starts_at")
        now = self.now()
        if starts < now + timedelta(days=3) - timedelta(minutes=1):
            earliest = timestamp(now + timedelta(days=3))
            raise invalid(
                "starts_at",
                "must_be_greater_than_or_equal",
                "must be at least 3 days from now",
                value=earliest,
            )
        length = {"day": 1, "week": 7, "month": 30, "year": 365}[period] * quantity
        subscription: JSON = {
            "id": self._new_id(),
            "status": "active",
            "custom_id": b.get("custom_id"),
            "name": name,
            "amount": money(amount),
            "currency": self.currency(b, "currency"),
            "period": period,
            "period_quantity": quantity,
            "current_period_starts_at": timestamp(starts),
            "current_period_ends_at": timestamp(starts + timedelta(days=length)),
            "current_period_paid": False,
            "payer_email": required_text(b, "payer_email"),
            "payer_name": b.get("payer_name"),
            "product_name": b.get("product_name"),
            "product_description": b.get("product_description"),
            "success_redirect_url": b.get("success_redirect_url"),
            "unsuccess_redirect_url": b.get("unsuccess_redirect_url"),
            "created_at": timestamp(now),
            "cancelled_at": None,
        }
        return self._store("subscriptions", subscription, b.get("custom_id")), None

    def subscriptions_retrieve(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self._get("subscriptions", p["subscription_id"]), None

    def subscriptions_retrieve_by_custom_id(
        self, p: JSON, q: JSON, b: JSON
    ) -> tuple[Any, JSON | None]:
        return self._by_custom_id("subscriptions", p["custom_id"]), None

    def subscriptions_list(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        return self.page("subscriptions", q)

    def subscriptions_cancel(self, p: JSON, q: JSON, b: JSON) -> tuple[Any, JSON | None]:
        subscription = self._get("subscriptions", p["subscription_id"])
        if subscription["status"] != "cancelled":
            subscription["status"] = "cancelled"
            subscription["cancelled_at"] = timestamp(self.now())
            self.emit("Subscription", "cancelled", subscription)
        return subscription, None


HIGH_RISK_MESSAGE = (
    "We were unable to process your request as the address of the recipient may be "
    "associated with resource primarily used for unlawful activities"
)


def positive(body: JSON, field: str) -> Decimal:
    """A required decimal string greater than zero, or the 422 the API gives."""
    raw = body.get(field)
    if raw is None:
        raise invalid(field, "required", "is missing")
    try:
        value = Decimal(str(raw)) if isinstance(raw, str | int) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise invalid(field, "must_be_decimal", "must be a decimal number")
    if value <= 0:
        raise invalid(field, "must_be_greater_than", "must be greater than 0", value="0")
    return value


def required_text(body: JSON, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise invalid(field, "required", "is missing")
    return value


def _when(source: JSON, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(source[field]))
    except (KeyError, ValueError):
        raise invalid(field, "must_be_date_time", "must be an ISO 8601 date-time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _address(network: str) -> str:
    if network in ("ethereum", "bnb_smart_chain"):
        return "0x" + secrets.token_hex(20)
    return "2N" + secrets.token_hex(16)
