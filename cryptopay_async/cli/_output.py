"""Tables for people: a few telling columns per kind of object, every field for one object."""

from __future__ import annotations

from typing import Any

import attrs
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from cryptopay_async.models import CoinWithdrawal, Invoice, Rate, to_dict

console = Console(highlight=False, soft_wrap=True)
UNBOUNDED = 1_000_000

COLUMNS: dict[type, list[tuple[str, str]]] = {
    Invoice: [
        ("id", "id"),
        ("custom_id", "custom id"),
        ("status", "status"),
        ("price_amount", "price"),
        ("price_currency", ""),
        ("pay_amount", "pay"),
        ("pay_currency", ""),
        ("paid_amount", "paid"),
        ("created_at", "created"),
    ],
    CoinWithdrawal: [
        ("id", "id"),
        ("custom_id", "custom id"),
        ("status", "status"),
        ("charged_amount", "charged"),
        ("charged_currency", ""),
        ("received_amount", "received"),
        ("received_currency", ""),
        ("created_at", "created"),
    ],
}


def show(value: Any, title: str) -> None:
    """Print the table at its natural width, never narrower.

    Rich would squeeze a table into the terminal (or 80 columns when piped) and cut
    ids, amounts and URLs with an ellipsis; a wide table wraps in a narrow terminal
    instead, with every character still there to copy.
    """
    table = as_table(value, title)
    natural = Measurement.get(console, console.options.update_width(UNBOUNDED), table).maximum
    Console(highlight=False, soft_wrap=True, width=max(console.width, natural)).print(table)


def as_table(value: Any, title: str) -> Table:
    if isinstance(value, dict) and all(isinstance(v, Rate) for v in value.values()):
        table = Table(title=title)
        for name in ("pair", "buy", "sell"):
            table.add_column(name, justify="left" if name == "pair" else "right")
        for pair in sorted(value):
            table.add_row(pair, str(value[pair].buy_rate), str(value[pair].sell_rate))
        return table
    if isinstance(value, list):
        columns = COLUMNS.get(type(value[0]), []) if value else []
        table = Table(title=f"{title} ({len(value)})")
        for _, header in columns:
            table.add_column(header)
        for item in value:
            table.add_row(*(_cell(getattr(item, field)) for field, _ in columns))
        return table
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for field, item in _flat(to_dict(value) if attrs.has(type(value)) else value):
        table.add_row(field, _cell(item))
    return table


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, item in value.items() if isinstance(value, dict) else []:
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            rows += _flat(item, f"{name}.")
        else:
            rows.append((name, item))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value.value if hasattr(value, "value") else value)
