"""Tables for people: a few telling columns per kind of object, every field for one object."""

from __future__ import annotations

import shlex
from typing import Any

import attrs
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from cryptopay_async import ConflictError
from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._messages import custom_id_of
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
    instead, with every character still there to copy. Nothing to show is said in
    words (``no invoices``), not as an empty table.
    """
    if isinstance(value, list | dict) and not value:
        console.print(f"no {title.lower()}", markup=False)
        return
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


def _flat(value: Any, name: str = "") -> list[tuple[str, Any]]:
    """One row per value, nested objects and lists spelled out: ``transactions[0].risk.level``."""
    if isinstance(value, dict) and value:
        pairs = [(f"{name}.{key}" if name else str(key), item) for key, item in value.items()]
    elif isinstance(value, list) and value and name:
        pairs = [(f"{name}[{index}]", item) for index, item in enumerate(value)]
    else:
        return [(name, value)]
    return [row for key, item in pairs for row in _flat(item, key)]


def _cell(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value.value if hasattr(value, "value") else value)


READ_BACK_COMMANDS = {"invoices": "invoices", "coin_withdrawals": "withdrawals"}
"""API collection -> the CLI group whose ``get ID --custom-id`` reads an object back."""


def error_text(error: BaseException) -> str:
    """``str(error)``, with a command to run where the SDK advises a Python method.

    A 409 on a create says to read the first object back with ``retrieve_by_custom_id``;
    a shell user is told ``cryptopay invoices get ORDER-42 --custom-id`` instead.
    """
    request = say.request_of(error.response) if isinstance(error, ConflictError) else None
    custom_id = None if request is None else custom_id_of(request)
    parts = request.url.path.split("/") if request is not None else []
    group = READ_BACK_COMMANDS.get(parts[2]) if len(parts) > 2 else None
    if request is None or custom_id is None or group is None:
        return str(error)
    command = say.clip(f"cryptopay {group} get {shlex.quote(custom_id)} --custom-id")
    cli_hint = say.conflict_hint(request, f"read it back with `{command}`")
    return str(error).replace(say.conflict_hint(request), cli_hint)
