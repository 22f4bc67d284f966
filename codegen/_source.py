"""Python source laid out the way ``ruff format`` leaves it, without running ruff.

The generator only emits a few shapes: calls, signatures, tuples and dicts of short
items. Each is written on one line when that fits in ``LINE_LENGTH``, otherwise one
item per line with a trailing comma (ruff's "magic trailing comma" then keeps it so).
Both layouts are fixed points of the formatter, so the output never depends on the
installed ruff version; ``check_lines`` refuses anything longer than a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

LINE_LENGTH = 100


@dataclass(frozen=True)
class Group:
    """``opener item, item closer``: a call, a signature, a tuple, a dict."""

    opener: str
    items: Sequence[Item]
    closer: str
    one_tuple: bool = field(default=False)
    """A one-element tuple keeps its comma on one line: ``(x,)``."""


Item = str | Group | tuple[str, Group]
"""Plain text, a nested group, or ``(prefix, group)`` such as ``body=(...)``."""


def quote(text: str) -> str:
    """A double-quoted string literal (the generator never needs escapes)."""
    if '"' in text or "\\" in text or "\n" in text:
        raise ValueError(f"cannot quote {text!r} without escapes")
    return f'"{text}"'


def tuple_of(items: Sequence[str | Group]) -> Group | str:
    """Source of a tuple: ``()``, ``(x,)`` or ``(x, y)``."""
    if not items:
        return "()"
    return Group("(", list(items), ")", one_tuple=len(items) == 1)


def flat(item: Item) -> str:
    """The item on one line."""
    if isinstance(item, str):
        return item
    if isinstance(item, tuple):
        prefix, group = item
        return prefix + flat(group)
    inner = ", ".join(flat(i) for i in item.items)
    if item.one_tuple:
        inner += ","
    return f"{item.opener}{inner}{item.closer}"


def render(item: Item, indent: int, suffix: str = "") -> list[str]:
    """Lines of ``item`` at ``indent`` followed by ``suffix`` (``,`` or `` -> T:``)."""
    pad = " " * indent
    one_line = pad + flat(item) + suffix
    if len(one_line) <= LINE_LENGTH or isinstance(item, str):
        return [one_line]
    prefix, group = item if isinstance(item, tuple) else ("", item)
    lines = [pad + prefix + group.opener]
    for inner in group.items:
        lines += render(inner, indent + 4, ",")
    lines.append(pad + group.closer + suffix)
    return lines


def check_lines(text: str) -> str:
    """``text`` unchanged, after making sure no line is longer than ``LINE_LENGTH``."""
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > LINE_LENGTH:
            raise ValueError(f"generated line {number} is {len(line)} characters: {line!r}")
    return text


def docstring(lines: Iterable[str], indent: int) -> list[str]:
    """A docstring: one line when it is one line, else closing quotes on their own line."""
    pad = " " * indent
    body = list(lines)
    if len(body) == 1:
        return [f'{pad}"""{body[0]}"""']
    out = [f'{pad}"""{body[0]}']
    out += [f"{pad}{line}" if line else "" for line in body[1:]]
    out.append(f'{pad}"""')
    return out


def import_names(names: Iterable[str]) -> list[str]:
    """``from x import ...`` names in isort's order: CONSTANTS, Classes, then functions."""

    def kind(name: str) -> int:
        if name.isupper() and len(name) > 1:
            return 0
        return 1 if name[:1].isupper() else 2

    return sorted(set(names), key=lambda n: (kind(n), n.lower(), n))


def from_import(module: str, names: Iterable[str]) -> list[str]:
    """``from module import a, b``, exploded when it does not fit."""
    ordered = import_names(names)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return render(Group(f"from {module} import (", ordered, ")"), 0)
