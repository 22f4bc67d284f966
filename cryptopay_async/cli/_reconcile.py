"""``cryptopay reconcile``: what Cryptopay says was paid against the merchant's own credits.

Paid: completed invoices and completed channel payments created within ``--since``
(list pages, newest first, until one is older). Credits: a CSV with ``invoice_id`` or
``custom_id``, ``amount`` and ``currency`` per row (a channel payment is named by its
id in ``invoice_id``). Several rows for one payment are added up, so a payment credited
twice shows as ``amount-mismatch``. Every difference is one row:
``paid-not-credited``, ``credited-not-paid`` or ``amount-mismatch``. Exit 0 when
nothing differs, 3 when something does, 2 when the file cannot be read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import attrs
import typer

from cryptopay_async import AsyncCryptopay

EXIT_MISMATCH = 3
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
COLUMNS = [
    "label",
    "type",
    "id",
    "custom_id",
    "paid_amount",
    "paid_currency",
    "credited_amount",
    "credited_currency",
]


@attrs.frozen
class Paid:
    type: str
    id: str
    custom_id: str | None
    amount: Decimal
    currency: str


@attrs.define
class Credit:
    key: str  # the invoice or payment id, or "custom:" + the custom id
    amount: Decimal
    currency: str
    line: int


def parse_since(text: str) -> timedelta:
    """``2d``, ``36h``, ``90m``, ``1w``, ``3600s``; ValueError naming the problem."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*", text)
    if match is None:
        raise ValueError(f"--since {text!r}: use a number and a unit, e.g. 2d, 36h, 90m")
    return timedelta(**{UNITS[match[2]]: float(match[1])})


def read_credits(path: Path) -> list[Credit]:
    """The credits file's rows; ValueError (exit 2) naming the file's problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or ())
    if not {"amount", "currency"} <= fields or not fields & {"invoice_id", "custom_id"}:
        raise ValueError(
            f"{path}: the header needs invoice_id or custom_id, amount and currency "
            f"(found: {', '.join(sorted(fields)) or 'nothing'})"
        )
    credits = []
    for row in reader:
        line = reader.line_num
        invoice_id = (row.get("invoice_id") or "").strip()
        custom_id = (row.get("custom_id") or "").strip()
        if not (invoice_id or custom_id):
            raise ValueError(f"{path}, line {line}: neither invoice_id nor custom_id")
        try:
            amount = Decimal((row.get("amount") or "").strip())
        except InvalidOperation:
            raise ValueError(f"{path}, line {line}: amount {row.get('amount')!r}") from None
        if not amount.is_finite():
            raise ValueError(f"{path}, line {line}: amount {row.get('amount')!r}")
        currency = (row.get("currency") or "").strip().upper()
        if not currency:
            raise ValueError(f"{path}, line {line}: no currency")
        key = invoice_id or f"custom:{custom_id}"
        credits.append(Credit(key, amount, currency, line))
    return credits


async def read_paid(client: AsyncCryptopay, since: datetime) -> list[Paid]:
    """Completed invoices and channel payments created since ``since``, read from lists."""
    paid: list[Paid] = []
    async for invoice in client.invoices.list():
        if invoice.created_at < since:
            break
        if invoice.status == "completed":
            paid.append(
                Paid(
                    "Invoice",
                    invoice.id,
                    invoice.custom_id,
                    invoice.price_amount,
                    invoice.price_currency,
                )
            )
    async for channel in client.channels.list():
        async for payment in client.channels.list_payments(channel.id):
            if payment.created_at < since:
                break
            if payment.status == "completed":
                paid.append(
                    Paid(
                        "ChannelPayment",
                        payment.id,
                        payment.custom_id,
                        payment.received_amount,
                        payment.received_currency,
                    )
                )
    return paid


def compare(paid: list[Paid], credits: list[Credit]) -> Iterator[dict[str, str]]:
    """One row per difference, in the order of ``paid``, then of the credits file."""
    by_key: dict[str, Paid] = {p.id: p for p in paid}
    by_key |= {f"custom:{p.custom_id}": p for p in paid if p.type == "Invoice" and p.custom_id}
    totals: dict[str, tuple[Decimal, set[str]]] = {}
    orphans: list[Credit] = []
    for credit in credits:
        target = by_key.get(credit.key)
        if target is None:
            orphans.append(credit)
            continue
        amount, currencies = totals.get(target.id, (Decimal(0), set()))
        totals[target.id] = (amount + credit.amount, currencies | {credit.currency})
    for p in paid:
        row = {
            "type": p.type,
            "id": p.id,
            "custom_id": p.custom_id or "",
            "paid_amount": str(p.amount),
            "paid_currency": p.currency,
        }
        if p.id not in totals:
            yield {"label": "paid-not-credited", **row}
            continue
        amount, currencies = totals[p.id]
        if amount != p.amount or currencies != {p.currency}:
            currency = ",".join(sorted(currencies))
            credited = {"credited_amount": str(amount), "credited_currency": currency}
            yield {"label": "amount-mismatch", **row, **credited}
    for credit in orphans:
        named = credit.key.removeprefix("custom:")
        yield {
            "label": "credited-not-paid",
            "type": "credit",
            "id": "" if credit.key.startswith("custom:") else named,
            "custom_id": named if credit.key.startswith("custom:") else "",
            "credited_amount": str(credit.amount),
            "credited_currency": credit.currency,
        }


def reconcile(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="how far back: 2d, 36h, 90m, 1w")],
    credits: Annotated[Path, typer.Option(help="CSV: invoice_id or custom_id, amount, currency")],
    out: Annotated[
        Path | None, typer.Option(help="write every difference to this CSV file")
    ] = None,
) -> None:
    """Compare what Cryptopay says was paid with your credits; exit 3 on any difference."""
    from cryptopay_async.cli._common import EXIT_USAGE, fail, run

    try:
        window = parse_since(since)
        credited = read_credits(credits)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE, exc) from None
    start = datetime.now(UTC) - window
    rows = list(compare(run(ctx, lambda client: read_paid(client, start)), credited))
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, COLUMNS, restval="")
            writer.writeheader()
            writer.writerows(rows)
    for row in rows:
        typer.echo(
            f"{row['label']:<18} {row['type']:<14} {row['id'] or row['custom_id']}"
            f"  paid {row.get('paid_amount', '-')} {row.get('paid_currency', '')}"
            f"  credited {row.get('credited_amount', '-')} {row.get('credited_currency', '')}"
        )
    typer.echo(f"{len(rows)} difference(s)" if rows else "everything matches")
    raise typer.Exit(EXIT_MISMATCH if rows else 0)
